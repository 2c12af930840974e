"""The contract: Payload's own REST client, ``@payloadcms/sdk`` (pinned in package.json), drives
a live server through find, findByID, create, update, count and login, with ``where`` trees
using and / or / in / like / exists, dot paths and several sort fields.

``run_sdk.mjs`` runs the SDK calls in Node and prints what each answered; the expected answers
are computed here with the ORM. Needs ``node`` and ``npm ci`` in tests/contract (CI does both);
without them the test is skipped, saying why (unless CONTRACT_TESTS_REQUIRED is set, as in CI).
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.db.models import Q

from orders import services as order_services
from orders.models import Order, OrderItem, OrderStatus
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from shop import keys
from shop.models import Product
from shop.values import Address
from tests.factories import CustomerFactory, ProductFactory

HERE = Path(__file__).resolve().parent
SDK = HERE / "node_modules" / "@payloadcms" / "sdk" / "package.json"
PASSWORD = "correct horse battery"


def _node_or_skip() -> str:
    node = shutil.which("node")
    missing = None
    if node is None:
        missing = "node is not installed"
    elif not SDK.exists():
        missing = "tests/contract/node_modules is missing (run `npm ci` in tests/contract)"
    if missing:
        if os.environ.get("CONTRACT_TESTS_REQUIRED"):
            pytest.fail(f"The Payload SDK contract test cannot run: {missing}.")
        pytest.skip(f"Payload SDK contract test skipped: {missing}.")
    return node


def run_sdk(node: str, plan: dict) -> list[dict]:
    done = subprocess.run(
        [node, str(HERE / "run_sdk.mjs")],
        input=json.dumps(plan),
        capture_output=True,
        text=True,
        cwd=HERE,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def address(postal_code: str) -> Address:
    return Address(
        recipient_name="Recipient",
        phone="010-1111-2222",
        postal_code=postal_code,
        address1="1 Main St",
        address2="",
    )


def place(product, quantity, postal_code, *, customer=None, email=None, paid=True) -> Order:
    return order_services.create_order(
        customer=customer,
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, quantity=quantity, unit_price=product.price)],
            customer_snapshot=CustomerSnapshot(name="Guest", email=email) if email else None,
            shipping_address=address(postal_code),
            payment_id=f"pay_{postal_code}_{quantity}" if paid else None,
        ),
    ).order


def test_the_pinned_sdk_is_the_one_installed():
    _node_or_skip()
    pinned = json.loads((HERE / "package.json").read_text())["dependencies"]["@payloadcms/sdk"]
    assert pinned == "3.90.1"
    assert json.loads(SDK.read_text())["version"] == pinned
    lock = json.loads((HERE / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@payloadcms/sdk"]["version"] == pinned


def test_payloads_sdk_against_a_live_server(live_server, transactional_db):
    node = _node_or_skip()
    shirt = ProductFactory(title="Linen shirt", price=30000)
    scarf = ProductFactory(title="Wool scarf", price=15000)
    a = CustomerFactory(email="a@example.com", password=PASSWORD)
    b = CustomerFactory(email="b@example.com", password=PASSWORD)
    a1 = place(shirt, 2, "06123", customer=a)
    place(scarf, 1, "04524", customer=a, paid=False)
    b1 = place(scarf, 3, "06100", customer=b)
    b2 = place(shirt, 1, "13000", customer=b, paid=False)
    order_services.cancel_order(order=b2, reason="changed their mind")
    place(shirt, 1, "06199", email="guest@elsewhere.org")
    place(scarf, 2, "99999", email="other@elsewhere.org", paid=False)
    server = keys.create_api_key(name="Contract server")
    storefront = keys.create_api_key(name="Contract storefront")

    complex_where = {
        "and": [
            {"status": {"in": ["paid", "pending", "canceled"]}},
            {
                "or": [
                    {"shippingAddress.postalCode": {"like": "061"}},
                    {"customerSnapshot.email": {"like": "example.com"}},
                ]
            },
            {"customer": {"exists": True}},
        ]
    }
    created_order = {
        "orderProducts": [{"product": {"$ref": [6, "id"]}, "quantity": 2, "unitPrice": 27000}],
        "totalAmount": 54000,
        "customerSnapshot": {"name": "Sam", "email": "sam@example.com", "phone": ""},
        "shippingAddress": {
            "recipientName": "Recipient",
            "phone": "010-1111-2222",
            "postalCode": "06000",
            "address1": "1 Main St",
            "address2": "",
        },
    }
    customer_a = {"login": 11}
    steps = [
        # 0-5: reads by the server
        {
            "op": "find",
            "as": "server",
            "args": {
                "collection": "orders",
                "where": complex_where,
                "sort": ["-totalAmount", "orderNumber"],
                "limit": 50,
                "depth": 0,
            },
        },
        {
            "op": "find",
            "as": "server",
            "args": {
                "collection": "order-items",
                "where": {
                    "order.customer": {"exists": True},
                    "product.title": {"like": "shirt linen"},
                },
                "sort": ["-quantity", "-createdAt"],
                "depth": 1,
            },
        },
        {
            "op": "findByID",
            "as": "server",
            "args": {"collection": "orders", "id": a1.pk, "depth": 1},
        },
        {
            "op": "count",
            "as": "server",
            "args": {
                "collection": "orders",
                "where": {
                    "or": [{"status": {"equals": "paid"}}, {"status": {"equals": "canceled"}}]
                },
            },
        },
        {
            "op": "count",
            "as": "server",
            "args": {"collection": "orders", "where": {"status": {"in": []}}},
        },
        {
            "op": "find",
            "as": "server",
            "args": {
                "collection": "orders",
                "where": {"customer": {"exists": False}},
                "sort": "-createdAt",
                "depth": 0,
            },
        },
        # 6-10: writes by the server
        {
            "op": "create",
            "as": "server",
            "args": {
                "collection": "products",
                "data": {"title": "Silk tie", "price": 25000, "sku": "TIE-1"},
            },
        },
        {
            "op": "update",
            "as": "server",
            "args": {"collection": "products", "id": {"$ref": [6, "id"]}, "data": {"price": 27000}},
        },
        {
            "op": "findByID",
            "as": "server",
            "args": {"collection": "products", "id": {"$ref": [6, "id"]}, "depth": 1},
        },
        {"op": "create", "as": "server", "args": {"collection": "orders", "data": created_order}},
        {
            "op": "update",
            "as": "server",
            "args": {
                "collection": "orders",
                "id": {"$ref": [9, "id"]},
                "data": {"status": "canceled", "reason": "Test order"},
            },
        },
        # 11-17: a customer on a storefront
        {
            "op": "login",
            "as": "storefront",
            "args": {"collection": "customers", "data": {"email": a.email, "password": PASSWORD}},
        },
        {
            "op": "find",
            "as": customer_a,
            "args": {
                "collection": "orders",
                "where": {"customer": {"equals": b.pk}},
                "sort": "-createdAt",
                "limit": 10,
            },
        },
        {
            "op": "find",
            "as": customer_a,
            "args": {
                "collection": "orders",
                "where": {"customer": {"equals": a.pk}},
                "sort": "-createdAt",
                "limit": 10,
            },
        },
        {"op": "findByID", "as": customer_a, "args": {"collection": "orders", "id": b1.pk}},
        {"op": "count", "as": customer_a, "args": {"collection": "orders"}},
        {
            "op": "login",
            "as": "storefront",
            "args": {"collection": "customers", "data": {"email": a.email, "password": "wrong"}},
        },
        {"op": "me", "as": customer_a, "args": {"collection": "customers"}},
        # 18-21: what a storefront, a customer and a state machine refuse
        {
            "op": "find",
            "as": "storefront",
            "args": {
                "collection": "products",
                "where": {
                    "or": [{"title": {"like": "shirt"}}, {"price": {"greater_than_equal": 20000}}]
                },
                "sort": ["-price", "title"],
            },
        },
        {"op": "find", "as": "storefront", "args": {"collection": "orders"}},
        {"op": "create", "as": customer_a, "args": {"collection": "orders", "data": created_order}},
        {
            "op": "update",
            "as": "server",
            "args": {"collection": "orders", "id": b1.pk, "data": {"status": "pending"}},
        },
    ]
    plan = {
        "baseURL": f"{live_server.url}/api",
        "callers": {
            "server": {"Authorization": f"Bearer {server.secret_key}"},
            "storefront": {"X-Publishable-Key": storefront.key.publishable_key},
        },
        "steps": steps,
    }
    # What the reads must answer, from the shop as it is before the writes.
    matching = list(
        Order.objects.filter(status__in=["paid", "pending", "canceled"])
        .filter(
            Q(shipping_postal_code__icontains="061") | Q(customer_email__icontains="example.com")
        )
        .filter(customer__isnull=False)
        .order_by("-total_amount", "order_number", "-id")
        .values_list("pk", flat=True)
    )
    items = list(
        OrderItem.objects.filter(order__customer__isnull=False, product__title__icontains="shirt")
        .order_by("-quantity", "-created_at", "-id")
        .values_list("pk", "order__order_number")
    )
    paid_or_canceled = Order.objects.filter(status__in=["paid", "canceled"]).count()
    guests = list(
        Order.objects.filter(customer__isnull=True)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
    )
    results = run_sdk(node, plan)
    assert len(results) == len(steps)

    def value(index):
        assert results[index]["ok"], (index, results[index])
        return results[index]["value"]

    # find: and / or / in / like / exists, dot paths, two sort fields
    found = value(0)
    assert [d["id"] for d in found["docs"]] == matching
    assert found["totalDocs"] == len(matching) and found["limit"] == 50
    assert found["docs"][0]["customer"] in (a.pk, b.pk)  # depth 0: an id

    found = value(1)
    assert [d["id"] for d in found["docs"]] == [pk for pk, _number in items]
    assert [d["order"]["orderNumber"] for d in found["docs"]] == [n for _pk, n in items]

    # findByID with depth: relations populated, joins attached
    doc = value(2)
    assert doc["orderNumber"] == a1.order_number and doc["customer"]["email"] == a.email
    assert [i["id"] for i in doc["items"]["docs"]] == list(
        a1.items.order_by("id").values_list("pk", flat=True)
    )

    # count, and an empty `in` array (allowEmptyArrays) that matches nothing
    assert value(3) == {"totalDocs": paid_or_canceled}
    assert value(4) == {"totalDocs": 0}
    assert [d["id"] for d in value(5)["docs"]] == guests

    # create and update answer json.doc
    tie = Product.objects.get(sku="TIE-1")
    assert value(6)["id"] == tie.pk and value(6)["price"] == 25000
    assert value(7)["price"] == 27000 == tie.price
    assert value(8) == value(7)  # the document as the update answered it, joins included
    made = Order.objects.get(pk=value(9)["id"])
    assert value(9)["orderNumber"] == made.order_number and value(9)["totalAmount"] == 54000
    assert value(10)["status"] == made.status == OrderStatus.CANCELED

    # login, then the seeds' "My orders" query with someone else's id finds nothing
    session = value(11)
    assert session["message"] == "Authentication Passed"
    assert session["user"]["id"] == a.pk and session["user"]["collection"] == "customers"
    assert value(12)["docs"] == [] and value(12)["totalDocs"] == 0
    mine = Order.objects.filter(customer=a).order_by("-created_at", "-id")
    assert [d["id"] for d in value(13)["docs"]] == list(mine.values_list("pk", flat=True))
    assert results[14] == {"ok": False, "status": 404, "errors": [{"message": "Not Found"}]}
    assert value(15) == {"totalDocs": mine.count()}
    assert results[16] == {
        "ok": False,
        "status": 401,
        "errors": [{"message": "The email or password provided is incorrect."}],
    }
    assert value(17)["user"]["id"] == a.pk

    catalog = Product.objects.filter(Q(title__icontains="shirt") | Q(price__gte=20000))
    assert [d["id"] for d in value(18)["docs"]] == list(
        catalog.order_by("-price", "title", "-id").values_list("pk", flat=True)
    )
    forbidden = [{"message": "You are not allowed to perform this action."}]
    assert results[19] == {"ok": False, "status": 403, "errors": forbidden}
    assert results[20] == {"ok": False, "status": 403, "errors": forbidden}
    refused = results[21]
    assert (refused["ok"], refused["status"]) == (False, 409)
    assert refused["errors"][0]["name"] == "TransitionError"
    assert Order.objects.get(pk=b1.pk).status == OrderStatus.PAID
