"""Every collection, every method, every kind of caller: the exact status, and no document of
another customer in any list, document, depth expansion or join.

The expected answers are written from the issue's rules ("Who may do what"), not from the
implementation: the tables below say what each caller may do; the collections' declarations say
which methods exist (405) and which documents are never deleted (403).
"""

import pytest
from django.db import transaction

from orders.models import Transaction
from shop.api.collections import registry
from tests.api.payload_client import search_params
from tests.auth.world import ADDRESS, build_world, documents_in

pytestmark = pytest.mark.django_db

CALLERS = [
    "anonymous",
    "storefront",
    "customer_a",
    "customer_b",
    "server",
    "revoked_key",
    "staff_without",
    "staff_with",
]
CUSTOMERS = ("customer_a", "customer_b")

CATALOG = {"products", "variants", "options"}
# A customer reads their own orders and everything under them, their carts, and themselves.
CUSTOMER_READS = {
    "customers",
    "carts",
    "cart-items",
    "orders",
    "order-items",
    "transactions",
    "fulfillments",
    "fulfillment-items",
    "returns",
    "return-items",
    "exchanges",
    "exchange-items",
}
# ... and writes their carts and cart lines, and asks for returns and exchanges.
CUSTOMER_WRITES = {
    ("carts", "add"),
    ("carts", "change"),
    ("carts", "delete"),
    ("cart-items", "add"),
    ("cart-items", "change"),
    ("cart-items", "delete"),
    ("returns", "add"),
    ("exchanges", "add"),
}


def may(caller: str, slug: str, action: str) -> bool:
    if caller in ("server", "staff_with"):
        return True
    if caller in CUSTOMERS:
        if action == "view":
            return slug in CATALOG or slug in CUSTOMER_READS
        return (slug, action) in CUSTOMER_WRITES
    if caller == "storefront":
        return action == "view" and slug in CATALOG
    return False  # anonymous, a revoked key, staff without permissions


def targets(world, caller: str, slug: str) -> tuple[int, int]:
    """(a document of the caller's own, someone else's) in the collection."""
    own, other = world.owner(caller), world.other(caller)

    def first(owned, model_path):
        return model_path(owned)

    pick = {
        "customers": lambda o: o.customer.pk,
        "carts": lambda o: o.cart.pk,
        "cart-items": lambda o: o.cart_item.pk,
        "orders": lambda o: o.delivered.pk,
        "order-items": lambda o: o.line.pk,
        "transactions": lambda o: Transaction.objects.filter(order=o.delivered).first().pk,
        "fulfillments": lambda o: o.delivered.fulfillments.get().pk,
        "fulfillment-items": lambda o: o.delivered.fulfillments.get().items.get().pk,
        "returns": lambda o: o.delivered.returns.get().pk,
        "return-items": lambda o: o.delivered.returns.get().items.get().pk,
        "exchanges": lambda o: o.delivered.exchanges.get().pk,
        "exchange-items": lambda o: o.delivered.exchanges.get().items.get().pk,
    }
    spare = {
        "products": (world.spare_product.pk, world.product.pk),
        "variants": (world.spare_variant.pk, world.variant.pk),
        "options": (world.spare_option.pk, world.option.pk),
    }
    if slug in spare:
        return spare[slug]
    if slug == "customers" and caller not in CUSTOMERS:
        return world.spare_customer.pk, other.customer.pk  # a customer nothing points at
    return first(own, pick[slug]), first(other, pick[slug])


def create_body(world, caller: str, slug: str) -> dict:
    owned = world.owner(caller)
    return {
        "customers": {"name": "New", "email": "new@example.com", "password": "a password"},
        "products": {"title": "New product"},
        "variants": {"product": world.product.pk, "title": "New variant"},
        "options": {"variant": world.variant.pk, "title": "New option"},
        "carts": {},
        "cart-items": {"cart": owned.cart.pk, **world.sellable, "quantity": 1},
        "orders": {
            "orderProducts": [{**world.sellable, "quantity": 1, "unitPrice": 10000}],
            "totalAmount": 10000,
            "shippingAddress": ADDRESS,
            "customer": owned.customer.pk,
        },
        "transactions": {"order": owned.pending.pk},
        "fulfillments": {"order": owned.paid.pk},
        "returns": {
            "order": owned.delivered.pk,
            "reason": "defective",
            "items": [{"orderItem": owned.line.pk, "quantity": 1}],
        },
        "exchanges": {
            "order": owned.delivered.pk,
            "reason": "wrong_size",
            "items": [{"orderItem": owned.line.pk, "quantity": 1}],
        },
    }.get(slug, {})


UPDATE_BODIES = {
    "customers": {"name": "Renamed"},
    "products": {"title": "Renamed"},
    "variants": {"title": "Renamed"},
    "options": {"title": "Renamed"},
    "carts": {"currency": "KRW"},
    "cart-items": {"quantity": 2},
    "orders": {"staffNote": "Checked by phone."},
    "fulfillments": {"note": "Leave at the door."},
    "returns": {"status": "approved"},
    "exchanges": {"status": "approved"},
}


def expected(caller: str, slug: str, collection, method: str) -> int:
    """The status the issue's rules give for one request (own document unless 'other')."""
    action = {
        "list": "view",
        "count": "view",
        "get": "view",
        "get other": "view",
        "create": "add",
        "update": "change",
        "update other": "change",
        "bulk update": "change",
        "delete": "delete",
        "delete other": "delete",
        "bulk delete": "delete",
    }[method]
    if not may(caller, slug, action):
        return 403
    if method.endswith("other") and caller in CUSTOMERS and slug not in CATALOG:
        return 404  # someone else's document does not exist for a customer
    if action == "view":
        return 200
    if action == "add":
        return 201 if collection.create else 405
    if action == "change":
        return 200 if collection.update else 405
    return 200 if collection.delete else 403  # history (orders, payments…) is never deleted


METHODS = [
    "list",
    "count",
    "get",
    "get other",
    "create",
    "update",
    "update other",
    "bulk update",
    "delete",
    "delete other",
    "bulk delete",
]


def send(client, method: str, slug: str, own: int, other: int, create: dict, update: dict):
    where = search_params(where={"id": {"equals": own}})
    return {
        "list": lambda: client.request("GET", f"/api/{slug}"),
        "count": lambda: client.request("GET", f"/api/{slug}/count"),
        "get": lambda: client.request("GET", f"/api/{slug}/{own}"),
        "get other": lambda: client.request("GET", f"/api/{slug}/{other}"),
        "create": lambda: client.request("POST", f"/api/{slug}", create),
        "update": lambda: client.request("PATCH", f"/api/{slug}/{own}", update),
        "update other": lambda: client.request("PATCH", f"/api/{slug}/{other}", update),
        "bulk update": lambda: client.request("PATCH", f"/api/{slug}{where}", update),
        "delete": lambda: client.request("DELETE", f"/api/{slug}/{own}"),
        "delete other": lambda: client.request("DELETE", f"/api/{slug}/{other}"),
        "bulk delete": lambda: client.request("DELETE", f"/api/{slug}{where}"),
    }[method]()


@pytest.mark.parametrize("caller", CALLERS)
def test_every_collection_and_method_answers_the_caller_exactly(caller):
    world = build_world()
    client = world.client(caller)
    other_ids = world.other(caller).ids() if caller in CUSTOMERS else {}
    wrong = []
    for slug, collection in registry.routes():
        canonical = collection.slug
        own, other = targets(world, caller, canonical)
        create = create_body(world, caller, canonical)
        update = UPDATE_BODIES.get(canonical, {})
        for method in METHODS:
            if method in ("update other", "delete other") and caller not in CUSTOMERS:
                continue  # someone else's document is a customer's concern
            with transaction.atomic():  # every write is undone: the next one sees the same shop
                answer = send(client, method, slug, own, other, create, update)
                transaction.set_rollback(True)
            want = expected(caller, canonical, collection, method)
            body = answer.json()
            if answer.status_code != want:
                wrong.append((slug, method, answer.status_code, want, body))
                continue
            if want >= 400:
                assert set(body) == {"errors"} and body["errors"][0]["message"]
            if want in (403, 404):
                message = {
                    403: "You are not allowed to perform this action.",
                    404: "Not Found",
                }[want]
                assert body == {"errors": [{"message": message}]}, (slug, method)
            if caller in CUSTOMERS and want < 400:
                docs = body.get("docs") or ([body["doc"]] if "doc" in body else [body])
                for doc in docs:
                    if isinstance(doc, dict) and "id" in doc:
                        named = set(documents_in(canonical, doc))
                        leaked = {(s, pk) for s, pk in named if pk in other_ids.get(s, ())}
                        assert not leaked, (slug, method, leaked)
    assert wrong == [], "\n".join(map(str, wrong))


@pytest.mark.parametrize("caller", CUSTOMERS)
@pytest.mark.parametrize("depth", [0, 1, 3])
def test_a_customer_lists_exactly_their_own_documents_at_every_depth(caller, depth):
    world = build_world()
    client = world.client(caller)
    mine, theirs = world.owner(caller).ids(), world.other(caller).ids()
    for slug, collection in registry.routes():
        canonical = collection.slug
        if canonical in CATALOG:
            continue
        query = search_params(depth=depth, limit=0) + "&joins[items][count]=true"
        if not collection.joins:
            query = search_params(depth=depth, limit=0)
        listed = client.get(f"/api/{slug}{query}").json()
        assert {doc["id"] for doc in listed["docs"]} == mine[canonical], slug
        assert client.get(f"/api/{slug}/count").json() == {"totalDocs": len(mine[canonical])}
        named = set()
        for doc in listed["docs"]:
            named |= set(documents_in(canonical, doc))
            detail = client.get(f"/api/{slug}/{doc['id']}?depth={depth}").json()
            named |= set(documents_in(canonical, detail))
        assert not {(s, pk) for s, pk in named if pk in theirs.get(s, ())}, slug
        if depth == 3 and canonical == "orders":
            # The joins really were walked: every child of the order is named.
            for child in ("order-items", "transactions", "fulfillments", "returns", "exchanges"):
                assert mine[child] <= {pk for s, pk in named if s == child}, child


def test_my_orders_query_for_another_customer_returns_nothing():
    """The seeds' "My orders" query, sent by customer A with B's id."""
    world = build_world()
    client = world.client("customer_a")
    query = search_params(
        where={"customer": {"equals": world.b.customer.pk}}, sort="-createdAt", limit=10
    )
    answer = client.get(f"/api/orders{query}")
    assert answer.status_code == 200
    assert answer.json()["docs"] == [] and answer.json()["totalDocs"] == 0
    mine = search_params(
        where={"customer": {"equals": world.a.customer.pk}}, sort="-createdAt", limit=10
    )
    assert {d["id"] for d in client.get(f"/api/orders{mine}").json()["docs"]} == (
        world.a.ids()["orders"]
    )


def test_no_where_widens_what_a_customer_sees():
    world = build_world()
    client = world.client("customer_a")
    theirs = world.b.ids()
    attempts = [
        (
            "orders",
            {"or": [{"customer": {"equals": world.b.customer.pk}}, {"id": {"exists": True}}]},
        ),
        ("orders", {"id": {"in": sorted(theirs["orders"])}}),
        ("orders", {"customer.email": {"equals": world.b.customer.email}}),
        ("order-items", {"order.customer": {"equals": world.b.customer.pk}}),
        ("transactions", {"order": {"in": sorted(theirs["orders"])}}),
        ("return-items", {"return.order.customer": {"equals": world.b.customer.pk}}),
        ("carts", {"customer": {"not_equals": world.a.customer.pk}}),
        ("customers", {"email": {"like": world.b.customer.email}}),
    ]
    for slug, where in attempts:
        query = search_params(where=where, depth=2)
        listed = client.get(f"/api/{slug}{query}").json()
        assert not {d["id"] for d in listed["docs"]} & theirs[slug], (slug, where)
        count = client.get(f"/api/{slug}/count{search_params(where=where)}").json()
        assert count["totalDocs"] == len(listed["docs"]), (slug, where)
    # The orders' joins, filtered by the caller towards someone else's children: nothing.
    join_where = search_params(where={"id": {"equals": world.a.delivered.pk}})
    join_where += f"&joins[items][where][order][equals]={world.b.delivered.pk}"
    order = client.get(f"/api/orders{join_where}").json()["docs"][0]
    assert order["items"]["docs"] == []


def test_another_customers_documents_are_404_on_every_route_that_names_an_id():
    world = build_world()
    client = world.client("customer_a")
    order = world.b.delivered.pk
    for url in (
        f"/api/orders/{order}",
        f"/api/orders/{order}?depth=2",
        f"/api/order-products/{world.b.line.pk}",
        f"/api/carts/{world.b.cart.pk}",
        f"/api/customers/{world.b.customer.pk}",
    ):
        answer = client.get(url)
        assert (answer.status_code, answer.json()) == (404, {"errors": [{"message": "Not Found"}]})
    # Exactly as for an id that does not exist at all.
    assert client.get("/api/orders/999999").json() == client.get(f"/api/orders/{order}").json()


def test_bulk_changes_reach_only_the_callers_own_documents():
    world = build_world()
    client = world.client("customer_a")
    line = world.b.cart_item
    where = search_params(where={"id": {"in": [line.pk, world.a.cart_item.pk]}})
    answer = client.request("PATCH", f"/api/cart-items{where}", {"quantity": 3})
    assert answer.status_code == 200
    assert [d["id"] for d in answer.json()["docs"]] == [world.a.cart_item.pk]
    line.refresh_from_db()
    assert line.quantity == 1
    answer = client.request("DELETE", f"/api/cart-items{where}")
    assert [d["id"] for d in answer.json()["docs"]] == [world.a.cart_item.pk]
    assert type(line).objects.filter(pk=line.pk).exists()
