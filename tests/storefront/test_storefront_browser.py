"""The storefront example (examples/storefront) in headless Chromium, served from its own
origin, against a live API: what a customer sees, read from the page.

The page loads the repository's own client, clients/js/src, as it is (no build step) and its
one dependency ``qs-esm`` from clients/js/node_modules (``npm ci`` there; CI does it). Without it
the test is skipped, saying so (failed instead when CI requires it).
"""

import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.values import OrderDraft, OrderLine
from returns.models import Return
from shop import keys
from shop.values import Address
from tests.factories import CustomerFactory, ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PAGE = "/examples/storefront/index.html"
CLIENT = "/clients/js/src/index.js"
QS_ESM = ROOT / "clients" / "js" / "node_modules" / "qs-esm" / "package.json"
PASSWORD = "correct horse battery"


class StaticFiles(SimpleHTTPRequestHandler):
    """The repository's files the page needs, nothing else: the example, the client's sources
    and the client's one dependency (the paths of index.html's import map)."""

    served = ("/examples/storefront/", "/clients/js/src/", "/clients/js/node_modules/qs-esm/")

    def __init__(self, *args, requested, **kwargs):
        self.requested = requested
        super().__init__(*args, **kwargs)

    def send_head(self):
        path = self.path.split("?", 1)[0]
        self.requested.append(path)
        if not path.startswith(self.served) or "/.." in path:
            self.send_error(404)
            return None
        return super().send_head()

    def log_message(self, format, *args):  # quiet
        pass


@pytest.fixture
def requested():
    """The paths the browser asked the storefront's server for."""
    return []


@pytest.fixture
def storefront_origin(requested):
    """The example served on its own port: another origin than the API's."""
    if not QS_ESM.exists():
        missing = "clients/js/node_modules is missing (run `npm ci` in clients/js)"
        if os.environ.get("CONTRACT_TESTS_REQUIRED"):
            pytest.fail(f"The storefront test cannot run: {missing}.")
        pytest.skip(f"Storefront browser test skipped: {missing}.")
    handler = partial(StaticFiles, directory=str(ROOT), requested=requested)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # "localhost", as the live server: another origin (port), the same site.
    yield f"http://localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def page(chromium, live_server, storefront_origin, settings):
    settings.CORS_ALLOWED_ORIGINS = [storefront_origin]
    settings.SHOP_CUSTOMER_COOKIE_SECURE = False  # the test serves plain http
    context = chromium.new_context(locale="en-US", viewport={"width": 1200, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def place(customer, product, quantity, *, deliver=False, tracking="640112345678"):
    order = order_services.create_order(
        customer=customer,
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, quantity=quantity, unit_price=product.price)],
            shipping_address=Address(
                recipient_name=customer.name,
                phone="010-1234-5678",
                postal_code="06123",
                address1="1 Main St",
            ),
            payment_id=f"pay_{customer.pk}_{product.pk}_{quantity}",
            payment_method="card",
        ),
    ).order
    if deliver:
        parcel = fulfillment_services.create_fulfillment(order=order)
        fulfillment_services.ship_fulfillment(
            fulfillment=parcel, carrier="cj", tracking_number=tracking
        )
        fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    return order


@pytest.fixture
def shop(transactional_db):
    shirt = ProductFactory(title="Linen shirt", price=30000)
    scarf = ProductFactory(title="Wool scarf", price=15000)
    jo = CustomerFactory(name="Jo Kim", email="jo@example.com", password=PASSWORD)
    sam = CustomerFactory(name="Sam Lee", email="sam@example.com", password=PASSWORD)
    return {
        "delivered": place(jo, shirt, 2, deliver=True),
        "paid": place(jo, scarf, 1),
        "others": [
            place(sam, shirt, 1, deliver=True, tracking="640199999999"),
            place(sam, scarf, 3),
        ],
        "jo": jo,
        "key": keys.create_api_key(name="Web shop").key.publishable_key,
    }


def open_storefront(page, live_server, storefront_origin, shop):
    query = urlencode({"api": f"{live_server.url}/api", "key": shop["key"]})
    page.goto(f"{storefront_origin}{PAGE}?{query}")
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(page.locator("#notice")).to_have_text("")


def sign_in(page, how: str):
    page.fill("#email", "jo@example.com")
    page.fill("#password", PASSWORD)
    page.check(f"input[name=session][value={how}]")
    page.click("#login button")
    expect(page.locator("#who")).to_have_text("Jo Kim")
    expect(page.locator("#session")).to_contain_text(f"{how} session until")


def my_orders_are_listed(page, shop):
    orders = page.locator("#orders li")
    expect(orders).to_have_count(2)
    # The seeds' "my orders": newest first.
    expect(orders.nth(0)).to_contain_text(shop["paid"].order_number)
    expect(orders.nth(1)).to_contain_text(shop["delivered"].order_number)
    for other in shop["others"]:
        expect(page.locator("body")).not_to_contain_text(other.order_number)


def api_cookie(page, live_server):
    return [c for c in page.context.cookies(live_server.url) if c["name"] == "payload-token"]


def test_a_customer_shops_with_a_cookie_session(
    page, live_server, storefront_origin, shop, requested
):
    open_storefront(page, live_server, storefront_origin, shop)
    assert CLIENT in requested  # the repository's client, not a copy of another one
    assert not [path for path in requested if "node_modules/@payloadcms" in path]
    products = page.locator("#products li")
    expect(products).to_have_text(["Linen shirt — ₩30,000", "Wool scarf — ₩15,000"])
    expect(page.locator("#signed-in")).to_be_hidden()

    sign_in(page, "cookie")
    [cookie] = api_cookie(page, live_server)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert "payload-token" not in page.evaluate("document.cookie")  # never readable by scripts
    my_orders_are_listed(page, shop)

    # One order at depth 1: items, payments, parcels with their tracking links.
    delivered = shop["delivered"]
    page.locator("#orders li", has_text=delivered.order_number).get_by_role("button").click()
    expect(page.locator("#order-number")).to_have_text(delivered.order_number)
    expect(page.locator("#order-status")).to_have_text("delivered")
    expect(page.locator("#items tr")).to_have_count(1)
    expect(page.locator("#items tr")).to_contain_text("Linen shirt")
    expect(page.locator("#items tr")).to_contain_text("× 2")
    expect(page.locator("#payments li")).to_have_text(["payment · ₩60,000 · card · paid"])
    link = page.locator("#parcels li a")
    expect(link).to_have_text("640112345678")
    href = link.get_attribute("href")
    assert href.startswith("https://") and "640112345678" in href
    expect(page.locator("#parcels li")).to_contain_text("delivered")

    # A return of one delivered unit.
    page.locator("#items tr").get_by_role("button", name="Return one").click()
    expect(page.locator("#notice")).to_have_text("Return of one Linen shirt requested.")
    expect(page.locator("#order-status")).to_have_text("return_requested")
    expect(page.locator("#returns li")).to_contain_text("defective · requested")
    [made] = Return.objects.filter(order=delivered)
    assert [(i.order_item_id, i.quantity) for i in made.items.all()] == [
        (delivered.items.get().pk, 1)
    ]

    # Refresh the session; the page, reloaded, is still signed in by the cookie.
    page.click("#refresh")
    expect(page.locator("#notice")).to_have_text("Session renewed.")
    my_orders_are_listed(page, shop)
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(page.locator("#who")).to_have_text("Jo Kim")
    my_orders_are_listed(page, shop)

    # Sign out: the cookie is gone and so are the orders.
    page.click("#logout")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#orders li")).to_have_count(0)
    assert api_cookie(page, live_server) == []
    page.reload()
    expect(page.locator("body[data-ready=true]")).to_have_count(1)
    expect(page.locator("#signed-in")).to_be_hidden()
    expect(page.locator("#orders li")).to_have_count(0)


def test_a_customer_shops_with_a_token_session(page, live_server, storefront_origin, shop):
    open_storefront(page, live_server, storefront_origin, shop)
    sign_in(page, "token")
    assert api_cookie(page, live_server) == []  # the token only, no cookie
    my_orders_are_listed(page, shop)
    page.locator("#orders li", has_text=shop["paid"].order_number).get_by_role("button").click()
    expect(page.locator("#order-status")).to_have_text("paid")
    expect(page.locator("#parcels li")).to_have_count(0)
    expect(page.locator("#items tr").get_by_role("button")).to_have_count(0)  # not delivered

    page.click("#refresh")
    expect(page.locator("#notice")).to_have_text("Session renewed.")
    expect(page.locator("#session")).to_contain_text("token session until")
    my_orders_are_listed(page, shop)

    page.click("#logout")
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#orders li")).to_have_count(0)
    expect(page.locator("#order")).to_be_hidden()
