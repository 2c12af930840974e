"""The product documents' code runs as written, with the JavaScript client in ``clients/js``.

Every snippet of both documents (copies in ``documents/``, checked against ``../shared/seeds``
when it is there) is run verbatim against a live server by ``run_snippets.mjs``: only the ids are
filled in (``'product_id'`` and the like become the seeded rows' ids; the free names
``customerId``, ``orderId``, ``client``… are declared above the snippet) and the import
``'@01.software/sdk'`` is resolved to ``clients/js``. The snippets are first type-checked,
strictly, against the client's declarations. Then the answers are checked against the
documents' comments and the database: the current document's names, and the previous one's
aliases (``order-products``, ``return-products``, ``totalAmount``, ``method``).

Needs ``node`` and ``npm ci`` in clients/js (CI does both); without them the tests are skipped,
saying why, unless CONTRACT_TESTS_REQUIRED is set (as in CI).
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from fulfillment import services as fulfillment_services
from fulfillment.models import FulfillmentItem
from orders import services as order_services
from orders.models import Order, OrderItem, Transaction, TransactionStatus
from orders.values import OrderDraft, OrderLine
from returns import services as return_services
from returns.models import ReturnItem
from returns.values import ReturnLine
from shop import keys
from tests.client.snippets import CURRENT, DOCUMENTS, PREVIOUS, Snippet, snippets
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CustomerFactory,
    OptionFactory,
    ProductFactory,
    VariantFactory,
)
from tests.helpers import ADDRESS_VALUE

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLIENT = REPO / "clients" / "js"
PAYLOAD_SDK = REPO / "tests" / "contract" / "node_modules" / "@payloadcms" / "sdk"
PASSWORD = "correct horse battery"
ADDRESS = {
    "recipientName": "Minji Kim",
    "phone": "010-2222-3333",
    "postalCode": "04524",
    "address1": "1 Sejong-daero",
    "address2": "",
}
# What the documents' comments promise.
TRANSACTION_STATUSES = {"pending", "paid", "failed", "canceled"}
FULFILLMENT_STATUSES = {"pending", "packed", "shipped", "delivered", "failed"}
PREVIOUS_FULFILLMENT_STATUSES = {"pending", "shipped", "delivered"}
PREVIOUS_CARRIERS = {"cj", "hanjin", "lotte", "epost", "logen", "other"}
RETURN_STATUSES = {"requested", "approved", "rejected", "processing", "completed"}
RETURN_REASONS = {"change_of_mind", "defective", "wrong_delivery", "damaged", "other"}
EXCHANGE_REASONS = {"wrong_size", "wrong_color", "defective", "other"}
FORBIDDEN = [{"message": "You are not allowed to perform this action."}]


def _node_or_skip(*needed: Path) -> str:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not (CLIENT / "node_modules" / "typescript").exists():
        missing = "clients/js/node_modules is missing (run `npm ci` in clients/js)"
    else:
        for path in needed:
            if not path.exists():
                missing = f"{path.relative_to(REPO)} is missing (run `npm ci` in tests/contract)"
    if missing:
        if os.environ.get("CONTRACT_TESTS_REQUIRED"):
            pytest.fail(f"The JavaScript client's end-to-end test cannot run: {missing}.")
        pytest.skip(f"JavaScript client end-to-end test skipped: {missing}.")
    return node


def _node(node: str, script: Path, plan: dict) -> dict:
    done = subprocess.run(
        [node, str(script)],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# ---------------------------------------------------------------------------------------------
# The documents


def _shared_seeds() -> Path | None:
    for candidate in (os.environ.get("SHOP_SEEDS_DIR"), REPO.parent / "shared" / "seeds"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def test_the_copies_are_the_product_documents():
    seeds = _shared_seeds()
    if seeds is None:
        pytest.skip("../shared/seeds is not beside the repository (set SHOP_SEEDS_DIR to it)")
    for copy in (CURRENT, PREVIOUS):
        assert copy.read_bytes() == (seeds / copy.name).read_bytes(), copy.name
    assert sorted(p.name for p in seeds.glob("*.txt")) == sorted(
        p.name for p in DOCUMENTS.glob("*.txt")
    )


def test_every_line_of_code_is_in_a_snippet():
    for document, sections in (
        (CURRENT, ["Create Order", "Query Orders", "Payment Status", "Shipment Tracking"]),
        (PREVIOUS, ["Create Order", "Query Orders", "Payment Status", "Shipment Tracking"]),
    ):
        found = snippets(document)
        extra = ["View Returns"] + (["View Exchanges"] if document == PREVIOUS else [])
        assert [s.section for s in found] == sections + extra
        code = "\n".join(s.code for s in found)
        for line in document.read_text(encoding="utf-8").splitlines():
            if re.search(r"await |import |client|^\s*//|^\s*\}\)?$", line):
                assert line in code, line


# ---------------------------------------------------------------------------------------------
# A shop to run them on


class Shop:
    """A customer with a delivered order (parcel delivered, one unit asked back by a return and
    one by an exchange) and two open carts; another customer with an order; the server's keys."""

    def __init__(self):
        self.product = ProductFactory(title="Linen shirt", price=10000, stock=None)
        self.variant = VariantFactory(product=self.product, title="M")
        self.option = OptionFactory(variant=self.variant, title="Blue")
        self.customer = CustomerFactory(name="Minji Kim", password=PASSWORD)
        self.delivered = self.order(self.customer, quantity=4, payment_id="pay_seed_1")
        self.line = self.delivered.items.get()
        self.parcel = fulfillment_services.create_fulfillment(order=self.delivered)
        fulfillment_services.ship_fulfillment(
            fulfillment=self.parcel, carrier="cj", tracking_number="6401234567"
        )
        fulfillment_services.deliver_fulfillment(fulfillment=self.parcel)
        units = [ReturnLine(order_item=self.line.pk, quantity=1)]
        self.ret = return_services.request_return(
            order=self.delivered, reason="defective", items=units
        )
        self.exchange = return_services.request_exchange(
            order=self.delivered, reason="wrong_size", items=units
        )
        self.earlier = self.order(self.customer, quantity=1, payment_id=None)
        self.carts = [self.cart(quantity) for quantity in (1, 3)]
        self.other = CustomerFactory(password=PASSWORD)
        self.order(self.other, quantity=1, payment_id="pay_seed_2")
        self.keys = keys.create_api_key(name="Web shop")

    def order(self, customer, *, quantity, payment_id) -> Order:
        line = OrderLine(
            product=self.product.pk,
            variant=self.variant.pk,
            option=self.option.pk,
            quantity=quantity,
            unit_price=10000,
        )
        return order_services.create_order(
            customer=customer,
            draft=OrderDraft(
                lines=[line],
                shipping_address=ADDRESS_VALUE,
                payment_id=payment_id,
                payment_method="card",
            ),
        ).order

    def cart(self, quantity):
        cart = CartFactory(customer=self.customer)
        CartItemFactory(
            cart=cart,
            product=self.product,
            variant=self.variant,
            option=self.option,
            quantity=quantity,
        )
        return cart

    def env(self, live_server) -> dict:
        return {
            "SHOP_API_URL": live_server.url,
            "NEXT_PUBLIC_SOFTWARE_PUBLISHABLE_KEY": self.keys.key.publishable_key,
            "SOFTWARE_SECRET_KEY": self.keys.secret_key,
            "SHOP_TIME_ZONE": settings.TIME_ZONE,  # the day generateOrderNumber() dates by
        }

    def ids(self) -> dict:
        return {
            "customerId": self.customer.pk,
            "orderId": self.delivered.pk,
            "fulfillmentId": self.parcel.pk,
            "returnId": self.ret.pk,
            "cartId": self.carts[1].pk,
        }


CALLERS = {
    "customer": (
        "import { createClient as __createClient } from '@01.software/sdk'\n"
        "const client = __createClient({\n"
        "  publishableKey: process.env.NEXT_PUBLIC_SOFTWARE_PUBLISHABLE_KEY!,\n"
        "})\n"
        "await client.auth.login({ email: __EMAIL__, password: __PASSWORD__ })\n"
    ),
    "server": (
        "import { createServerClient as __createServerClient } from '@01.software/sdk'\n"
        "const client = __createServerClient({\n"
        "  publishableKey: process.env.NEXT_PUBLIC_SOFTWARE_PUBLISHABLE_KEY!,\n"
        "  secretKey: process.env.SOFTWARE_SECRET_KEY!,\n"
        "})\n"
    ),
}


def block(shop: Shop, snippet: Snippet, caller: str, fills: dict | None = None) -> dict:
    """The snippet as a module: what it needs declared above it, then its text with only the
    ids filled in."""
    code = snippet.code
    for literal, value in (fills or {}).items():
        assert literal in code, f"{literal} is no longer in the {snippet.section} snippet"
        code = code.replace(literal, json.dumps(value))
    declared = snippet.declared()
    above = ""
    if snippet.uses("client") and "client" not in declared:
        email, password = json.dumps(shop.customer.email), json.dumps(PASSWORD)
        above += CALLERS[caller].replace("__EMAIL__", email).replace("__PASSWORD__", password)
    for name, value in shop.ids().items():
        if snippet.uses(name) and name not in declared:
            above += f"const {name} = {json.dumps(value)}\n"
    report = [name for name in declared if name != "serverClient"]
    name = f"{snippet.document} {snippet.section} as {caller}"
    return {"name": name, "source": above + code, "report": report}


def run(shop: Shop, live_server, blocks: list[dict]) -> list[dict]:
    node = _node_or_skip()
    output = _node(
        node,
        HERE / "run_snippets.mjs",
        {"clientDir": str(CLIENT), "env": shop.env(live_server), "blocks": blocks},
    )
    assert output["typeErrors"] == []
    results = output["results"]
    assert len(results) == len(blocks)
    return results


def value(results, index) -> dict:
    assert results[index]["ok"], results[index]
    return results[index]["value"]


def ids(docs) -> list[int]:
    return [doc["id"] for doc in docs]


def server_number_format() -> re.Pattern:
    """The shape of the numbers the server makes (``generate_order_number``), digits as \\d."""
    return re.compile(re.sub(r"\d", r"\\d", order_services.generate_order_number()))


# ---------------------------------------------------------------------------------------------
# What the reading snippets' answers must be, on either document


def check_queries(shop: Shop, answers: dict, *, previous: bool) -> None:
    mine = Order.objects.filter(customer=shop.customer).order_by("-created_at", "-id")
    assert ids(answers["orders"]) == list(mine.values_list("pk", flat=True)[:10])
    assert len(answers["orders"]) >= 3  # seeded, created by a snippet, checked out

    order = answers["order"]
    assert order["id"] == shop.delivered.pk
    assert order["orderNumber"] == shop.delivered.order_number
    assert order["customer"]["id"] == shop.customer.pk  # depth 1
    assert ids(order["items"]["docs"]) == [shop.line.pk]

    [item] = answers["items"]
    assert item["id"] == shop.line.pk and item["quantity"] == 4
    # "includes product, variant, option info"
    assert item["product"]["id"] == shop.product.pk
    assert item["product"]["title"] == "Linen shirt"
    assert (item["variant"]["id"], item["variant"]["title"]) == (shop.variant.pk, "M")
    assert (item["option"]["id"], item["option"]["title"]) == (shop.option.pk, "Blue")


def check_payments(shop: Shop, transactions: list, *, previous: bool) -> None:
    stored = Transaction.objects.filter(order=shop.delivered).order_by("-created_at", "-id")
    assert ids(transactions) == list(stored.values_list("pk", flat=True))
    for doc, row in zip(transactions, stored, strict=True):
        assert doc["status"] in TRANSACTION_STATUSES and doc["status"] == row.status
        amount, method = ("totalAmount", "method") if previous else ("amount", "paymentMethod")
        assert (doc[amount], doc[method]) == (row.amount, row.payment_method)
    assert transactions[-1]["status"] == "paid"


def check_shipments(shop: Shop, answers: dict, *, previous: bool) -> None:
    [parcel] = answers["fulfillments"]
    assert parcel["id"] == shop.parcel.pk
    assert parcel["carrier"] == "cj"
    assert parcel["carrier"] in PREVIOUS_CARRIERS or not previous
    assert parcel["trackingNumber"] == "6401234567"
    statuses = PREVIOUS_FULFILLMENT_STATUSES if previous else FULFILLMENT_STATUSES
    assert parcel["status"] == "delivered" and parcel["status"] in statuses

    stored = FulfillmentItem.objects.filter(fulfillment=shop.parcel).order_by("-created_at", "-id")
    assert ids(answers["items"]) == list(stored.values_list("pk", flat=True))
    assert answers["items"][0]["orderItem"]["id"] == shop.line.pk  # depth 1
    assert answers["items"][0]["quantity"] == 4


def check_returns(shop: Shop, answers: dict) -> None:
    [ret] = answers["returns"]
    assert ret["id"] == shop.ret.pk
    assert ret["status"] == "requested" and ret["status"] in RETURN_STATUSES
    assert ret["reason"] == "defective" and ret["reason"] in RETURN_REASONS

    stored = ReturnItem.objects.filter(return_request=shop.ret)
    assert ids(answers["returnItems"]) == list(stored.values_list("pk", flat=True))
    [line] = answers["returnItems"]
    assert line["orderItem"]["id"] == shop.line.pk and line["quantity"] == 1  # depth 1


READS = ["Query Orders", "Payment Status", "Shipment Tracking", "View Returns"]


def check_reads(shop: Shop, results: list, first: int, *, previous: bool) -> None:
    """The four reading snippets' answers, from results[first:first + 4]."""
    check_queries(shop, value(results, first), previous=previous)
    check_payments(shop, value(results, first + 1)["transactions"], previous=previous)
    check_shipments(shop, value(results, first + 2), previous=previous)
    check_returns(shop, value(results, first + 3))


# ---------------------------------------------------------------------------------------------
# The current document


@pytest.mark.postgres
def test_the_current_document_runs_as_written(live_server, transactional_db):
    shop = Shop()
    found = {s.section: s for s in snippets(CURRENT)}
    cart = shop.carts[0]
    fills = {
        "'product_id'": shop.product.pk,
        "'variant_id'": shop.variant.pk,
        "'option_id'": shop.option.pk,
        "'cart_id'": cart.pk,
    }
    blocks = [block(shop, found["Create Order"], "server", fills)]
    for caller in ("customer", "server"):
        blocks += [block(shop, found[section], caller) for section in READS]
    session = Snippet(
        "session",
        "A customer's session",
        "import { createClient } from '@01.software/sdk'\n"
        "const client = createClient({\n"
        "  publishableKey: process.env.NEXT_PUBLIC_SOFTWARE_PUBLISHABLE_KEY!,\n"
        "})\n"
        f"const session = await client.auth.login({{ email: {json.dumps(shop.customer.email)}, "
        f"password: {json.dumps(PASSWORD)} }})\n"
        "const me = await client.auth.me()\n"
        "const counted = await client.from('orders').count()\n"
        "const bye = await client.auth.logout()\n"
        "const after = await client.auth.me()\n",
    )
    blocks.append(block(shop, session, "customer"))
    days = {timezone.localdate().strftime("%y%m%d")}
    results = run(shop, live_server, blocks)
    days.add(timezone.localdate().strftime("%y%m%d"))
    number_format = server_number_format()

    # Direct order creation: the order, with the number generateOrderNumber() made
    created = value(results, 0)
    order, order2 = created["order"], created["order2"]
    made = Order.objects.get(pk=order["id"])
    assert order["orderNumber"] == made.order_number
    assert number_format.fullmatch(made.order_number) and made.order_number[:6] in days
    assert order["customerSnapshot"] == {
        "name": "John Doe",
        "email": "john@example.com",
        "phone": "010-1234-5678",
    }
    assert order["shippingAddress"] == {
        "recipientName": "John Doe",
        "phone": "010-1234-5678",
        "postalCode": "06123",
        "address1": "123 Main St",
        "address2": "Apt 4B",
    }
    assert (order["totalAmount"], order["status"], made.customer_id) == (20000, "paid", None)
    line = OrderItem.objects.get(order=made)
    assert ids(order["items"]["docs"]) == [line.pk]
    assert (line.product_id, line.variant_id, line.option_id) == (
        shop.product.pk,
        shop.variant.pk,
        shop.option.pk,
    )
    assert (line.quantity, line.unit_price) == (2, 10000)
    payment = Transaction.objects.get(order=made)
    assert (payment.payment_id, payment.status, payment.amount) == ("pay_123456", "paid", 20000)

    # Cart → order checkout
    checked_out = Order.objects.get(pk=order2["id"])
    assert order2["orderNumber"] == checked_out.order_number != made.order_number
    assert number_format.fullmatch(checked_out.order_number)
    assert (checked_out.cart_id, checked_out.customer_id) == (cart.pk, shop.customer.pk)
    assert order2["customerSnapshot"]["name"] == "John Doe"
    assert order2["customerSnapshot"]["email"] == "john@example.com"
    assert (order2["totalAmount"], order2["status"]) == (10000, "paid")
    assert Transaction.objects.get(order=checked_out).payment_id == "pay_789"

    # The reading snippets, as the logged-in customer and as the server
    check_reads(shop, results, 1, previous=False)
    check_reads(shop, results, 5, previous=False)

    # Login, me, logout
    answers = value(results, 9)
    assert answers["session"]["user"]["id"] == shop.customer.pk
    assert answers["me"]["user"]["email"] == shop.customer.email
    assert answers["counted"] == {"totalDocs": Order.objects.filter(customer=shop.customer).count()}
    assert answers["bye"]["message"]
    assert answers["after"]["user"] is None


# ---------------------------------------------------------------------------------------------
# The previous document: its aliases


@pytest.mark.postgres
def test_the_previous_document_runs_as_written(live_server, transactional_db):
    shop = Shop()
    found = {s.section: s for s in snippets(PREVIOUS)}
    # The previous document creates orders with `client`: a customer may not (only a server
    # creates orders); the same snippet as the server checks the customer's cart out.
    blocks = [
        block(shop, found["Create Order"], "customer"),
        block(shop, found["Create Order"], "server"),
    ]
    for caller in ("customer", "server"):
        blocks += [block(shop, found[section], caller) for section in [*READS, "View Exchanges"]]
    cart = shop.carts[1]
    results = run(shop, live_server, blocks)

    assert results[0] == {
        "ok": False,
        "status": 403,
        "errors": FORBIDDEN,
        "message": FORBIDDEN[0]["message"],
    }
    order = value(results, 1)["order"]
    made = Order.objects.get(cart=cart)
    # "order.orderNumber → auto-generated order number"
    assert order["id"] == made.pk and order["orderNumber"] == made.order_number
    assert server_number_format().fullmatch(made.order_number)
    # "customerSnapshot automatically captures customer info at order time"
    assert order["customerSnapshot"]["name"] == "Minji Kim"
    assert order["customerSnapshot"]["email"] == shop.customer.email
    assert made.customer_id == shop.customer.pk
    assert order["shippingAddress"]["address2"] == "Apt 4B"
    assert (order["totalAmount"], order["status"]) == (30000, "pending")
    assert not Transaction.objects.filter(order=made, status=TransactionStatus.PAID).exists()

    for first in (2, 7):
        check_reads(shop, results, first, previous=True)
        [exchange] = value(results, first + 4)["exchanges"]
        assert exchange["id"] == shop.exchange.pk
        assert exchange["reason"] == "wrong_size" and exchange["reason"] in EXCHANGE_REASONS


# ---------------------------------------------------------------------------------------------
# Query strings: byte for byte Payload's client's


QUERIES = [
    {"where": {"customer": {"equals": 7}}, "sort": "-createdAt", "limit": 10},
    {"where": {"order": {"equals": 12}}, "depth": 1},
    {
        "where": {
            "and": [
                {"status": {"in": ["paid", "pending"]}},
                {
                    "or": [
                        {"shippingAddress.postalCode": {"like": "061"}},
                        {"customerSnapshot.email": {"contains": "@example.com"}},
                    ]
                },
                {"customer": {"exists": True}},
                {"items": {"in": []}},
                {"createdAt": {"greater_than": "2026-11-23T02:41:07.215Z"}},
            ]
        },
        "sort": ["-totalAmount", "orderNumber"],
        "limit": 0,
        "page": 3,
        "pagination": False,
        "depth": 2,
        "select": {"orderNumber": True, "shippingAddress": {"postalCode": True}},
        "populate": {"customers": {"email": True}},
        "joins": {"items": {"limit": 5, "sort": "-createdAt", "count": True}},
    },
    {"where": {"title": {"like": "셔츠 & 100% linen, a+b=c?"}}, "sort": "title"},
]


def test_query_strings_are_payloads_sdks():
    node = _node_or_skip(PAYLOAD_SDK)
    urls = _node(
        node,
        HERE / "compare_query_strings.mjs",
        {
            "client": (CLIENT / "src" / "index.js").as_uri(),
            "sdk": (PAYLOAD_SDK / "dist" / "index.js").as_uri(),
            "queries": QUERIES,
        },
    )
    assert len(urls["ours"]) == 3 * len(QUERIES)
    assert urls["ours"] == urls["payload"]
    assert "where%5Bcustomer%5D%5Bequals%5D=7" in urls["ours"][0]
