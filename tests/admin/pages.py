"""What the browser tests share: a page in a locale and a window size, Playwright's ``expect``,
and logging in (through the admin's login form, or by the session cookie that form would give)."""

from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from tests.admin.conftest import PASSWORD

LOCALES = {"en": "en-US", "ko": "ko-KR"}


def new_page(chromium, lang: str, width: int, height: int = 900, **options):
    """A page of its own browser context (cookies, locale); close it with ``page.context``."""
    context = chromium.new_context(
        locale=LOCALES[lang], viewport={"width": width, "height": height}, **options
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def log_in(page, live_server, username: str) -> None:
    """Log in as ``username`` by giving the browser the session cookie the login form would:
    the next page it opens is theirs. (The form itself, and the home it leads to, cost half a
    second a test; ``log_in_with_the_form`` walks them.)"""
    client = Client()
    client.force_login(User.objects.get(username=username))
    name = settings.SESSION_COOKIE_NAME
    page.context.add_cookies(
        [{"name": name, "value": client.cookies[name].value, "url": live_server.url}]
    )


def log_in_with_the_form(page, live_server, username: str) -> None:
    """Log in as ``username`` on the login page and see the admin's home greet them (by first
    name when they have one)."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    user = User.objects.get(username=username)
    expect(page.locator("#user-tools")).to_contain_text(user.get_short_name() or username)
