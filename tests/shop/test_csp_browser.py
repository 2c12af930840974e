"""In a real browser, under the Content-Security-Policy every page sends: the admin logs in and
shows an order, its packing slips print, and /api/docs renders Swagger UI, with no violation."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.admin.browser import chromium  # noqa: F401 (the browser fixture)
from tests.admin.shortcuts import place_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "csp-browser-password"
# Recorded by the page itself, before any of its scripts run (an init script is not subject to
# the page's policy): every violation the browser reports, and calls to window.print.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});
window.__printed = 0;
window.print = () => { window.__printed += 1; };
"""


@pytest.fixture
def page(chromium, live_server):  # noqa: F811
    context = chromium.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    context.add_init_script(WATCH)
    page = context.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def assert_no_violation(page):
    assert page.evaluate("window.__violations") == []
    assert [e for e in page.errors if "Content Security Policy" in e or "Refused" in e] == []


def test_the_admin_works_under_the_policy(page, live_server):
    User.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    order = place_order()

    response = page.goto(f"{live_server.url}/admin/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.fill("#id_username", "boss")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#user-tools")).to_contain_text("boss")
    assert_no_violation(page)

    page.goto(live_server.url + reverse("admin:orders_order_changelist"))
    page.check(f'input[name=_selected_action][value="{order.pk}"]')
    page.select_option("select[name=action]", "print_packing_slips")
    page.click("button[name=index]")
    expect(page.locator(f'[data-order="{order.order_number}"]')).to_be_visible()
    page.click("[data-print]")
    assert page.evaluate("window.__printed") == 1  # the Print button's script ran
    assert_no_violation(page)

    page.goto(live_server.url + reverse("admin:orders_order_change", args=[order.pk]))
    expect(page.locator("h2", has_text=order.order_number)).to_be_visible()
    assert_no_violation(page)


def test_api_docs_render_under_the_policy(page, live_server):
    response = page.goto(f"{live_server.url}/api/docs")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Swagger UI ran its start script, fetched the schema and drew the operations.
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    expect(page.locator(".opblock-tag", has_text="orders").first).to_be_visible()
    assert_no_violation(page)
    assert page.errors == []
