"""What the browser tests share: a page in a locale and a window size, Playwright's ``expect``,
and logging in through the admin's login form."""

from django.contrib.auth.models import User

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
    """Log in as ``username`` and see the admin greet them (by first name when they have one)."""
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    user = User.objects.get(username=username)
    expect(page.locator("#user-tools")).to_contain_text(user.get_short_name() or username)
