"""``where``: every operator's semantics and its refusal of a bad value, paths into groups and
across relations, and/or nesting, and the query string exactly as qs encodes it."""

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import services as order_services
from orders.models import Order
from orders.values import CustomerSnapshot, OrderDraft, OrderLine
from shop.values import Address
from tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


# What every parcel needs, under the members a test's order gives.
PARCEL_ADDRESS = Address(
    recipient_name="Guest Buyer", phone="010-0000-0000", postal_code="00000", address1="1 Main St"
)


def make_order(*, customer=None, price=10000, quantity=1, paid=True, address=None, title=None):
    product = ProductFactory(price=price, **({"title": title} if title else {}))
    return order_services.create_order(
        customer=customer,
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, quantity=quantity, unit_price=price)],
            customer_snapshot=None
            if customer
            else CustomerSnapshot(name="Guest Buyer", email="g@example.com"),
            shipping_address=replace(PARCEL_ADDRESS, **(address or {})),
            payment_id=f"pay_{product.pk}" if paid else None,
        ),
    ).order


@pytest.fixture
def orders():
    john = CustomerFactory(name="John Doe", email="john@example.com")
    kim = CustomerFactory(name="Kim Minji", email="minji.kim@example.com")
    a = make_order(
        customer=john,
        price=10000,
        address={"recipient_name": "John Doe", "postal_code": "06123", "address2": "Apt 4B"},
        title="Linen Shirt",
    )
    b = make_order(
        customer=kim,
        price=15000,
        quantity=2,
        paid=False,
        address={"recipient_name": "Kim Minji", "postal_code": "04524"},
        title="Ceramic Mug",
    )
    c = make_order(price=20000, paid=False, address={"postal_code": "06100"}, title="Canvas Tote")
    order_services.fail_payment(order=c, reason="card declined")
    # Spread the creation times: a oldest, c newest.
    now = timezone.now()
    for offset, order in ((3, a), (2, b), (1, c)):
        Order.objects.filter(pk=order.pk).update(created_at=now - timedelta(days=offset))
    return {"john": john, "kim": kim, "a": a, "b": b, "c": c}


def ids(api, slug="orders", **args):
    answer = api.from_(slug).find(depth=0, **args)
    return sorted(doc["id"] for doc in answer["docs"])


def pks(*orders):
    return sorted(o.pk for o in orders)


def bad(api, where, slug="orders"):
    answer = api.from_(slug).find_raw(where=where)
    assert answer.status == 400, answer.json
    error = answer.json["errors"][0]
    assert error["name"] == "QueryError"
    return error["message"]


# equals / not_equals


def test_equals_on_text_choice_number_relation_and_group(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    assert ids(api, where={"orderNumber": {"equals": a.order_number}}) == pks(a)
    assert ids(api, where={"status": {"equals": "failed"}}) == pks(c)
    assert ids(api, where={"totalAmount": {"equals": "30000"}}) == pks(b)
    assert ids(api, where={"customer": {"equals": orders["kim"].pk}}) == pks(b)
    assert ids(api, where={"customer.id": {"equals": orders["kim"].pk}}) == pks(b)
    assert ids(api, where={"customer": {"equals": "null"}}) == pks(c)
    assert ids(api, where={"shippingAddress.postalCode": {"equals": "06123"}}) == pks(a)


def test_equals_refuses_a_value_of_the_wrong_type(api, orders):
    assert "totalAmount" in bad(api, {"totalAmount": {"equals": "lots"}})
    message = bad(api, {"status": {"equals": "lost"}})
    assert "status" in message and "pending" in message  # names the choices
    assert "customer" in bad(api, {"customer": {"equals": "seven"}})
    assert "one value" in bad(api, {"status": {"equals": ["paid", "failed"]}})


def test_not_equals_also_matches_empty_relations(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    assert ids(api, where={"customer": {"not_equals": orders["john"].pk}}) == pks(b, c)
    assert ids(api, where={"status": {"not_equals": "paid"}}) == pks(b, c)
    assert ids(api, where={"customer": {"not_equals": "null"}}) == pks(a, b)


def test_not_equals_refuses_a_bad_value(api, orders):
    assert "totalAmount" in bad(api, {"totalAmount": {"not_equals": "1.5"}})


# in / not_in


def test_in_takes_arrays_and_comma_lists(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    assert ids(api, where={"status": {"in": ["paid", "failed"]}}) == pks(a, c)
    assert ids(api, where={"status": {"in": "paid,pending"}}) == pks(a, b)
    assert ids(api, where={"customer": {"in": [orders["john"].pk, "null"]}}) == pks(a, c)


def test_in_an_empty_array_matches_nothing(api, orders):
    # qs (allowEmptyArrays) writes where[status][in][] for an empty array.
    answer = api.transport("GET", "/api/orders?where%5Bstatus%5D%5Bin%5D%5B%5D")
    assert answer.status == 200 and answer.json["docs"] == []


def test_not_in(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    assert ids(api, where={"status": {"not_in": ["paid", "failed"]}}) == pks(b)
    assert ids(api, where={"customer": {"not_in": [orders["john"].pk]}}) == pks(b, c)
    empty = api.transport("GET", "/api/orders?depth=0&where%5Bstatus%5D%5Bnot_in%5D%5B%5D")
    assert sorted(d["id"] for d in empty.json["docs"]) == pks(a, b, c)


def test_in_and_not_in_refuse_bad_values(api, orders):
    assert "totalAmount" in bad(api, {"totalAmount": {"in": ["10000", "ten"]}})
    assert "status" in bad(api, {"status": {"not_in": ["paid", "nonsense"]}})
    assert "comma-separated" in bad(api, {"status": {"in": {"x": "paid"}}})


# exists


def test_exists(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    assert ids(api, where={"customer": {"exists": "true"}}) == pks(a, b)
    assert ids(api, where={"customer": {"exists": "false"}}) == pks(c)
    # Blank text counts as absent.
    assert ids(api, where={"shippingAddress.address2": {"exists": "true"}}) == pks(a)
    assert ids(api, where={"shippingAddress.address2": {"exists": "no"}}) == pks(b, c)


def test_exists_refuses_an_object(api, orders):
    assert "exists" in bad(api, {"customer": {"exists": {"a": "b"}}})


# greater_than / greater_than_equal / less_than / less_than_equal


def test_number_comparisons(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    assert ids(api, where={"totalAmount": {"greater_than": "20000"}}) == pks(b)
    assert ids(api, where={"totalAmount": {"greater_than_equal": "20000"}}) == pks(b, c)
    assert ids(api, where={"totalAmount": {"less_than": "20000"}}) == pks(a)
    assert ids(api, where={"totalAmount": {"less_than_equal": "20000"}}) == pks(a, c)
    between = {"totalAmount": {"greater_than": "10000", "less_than": "30000"}}
    assert ids(api, where=between) == pks(c)


def test_date_comparisons_take_iso_dates(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    b_created = Order.objects.get(pk=b.pk).created_at
    stamp = b_created.isoformat().replace("+00:00", "Z")
    assert ids(api, where={"createdAt": {"greater_than": stamp}}) == pks(c)
    assert ids(api, where={"createdAt": {"greater_than_equal": stamp}}) == pks(b, c)
    assert ids(api, where={"createdAt": {"less_than": stamp}}) == pks(a)
    assert ids(api, where={"createdAt": {"less_than_equal": stamp}}) == pks(a, b)
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    assert ids(api, where={"createdAt": {"less_than": tomorrow}}) == pks(a, b, c)


@pytest.mark.parametrize(
    "operator", ["greater_than", "greater_than_equal", "less_than", "less_than_equal"]
)
def test_comparisons_refuse_bad_values_and_text_fields(api, orders, operator):
    message = bad(api, {"createdAt": {operator: "last tuesday"}})
    assert "createdAt" in message and "ISO 8601" in message
    assert "whole number" in bad(api, {"totalAmount": {operator: "many"}})
    assert "cannot be used on orderNumber" in bad(api, {"orderNumber": {operator: "A"}})


# like / not_like / contains


def test_like_needs_every_word_in_any_order_and_case(api, orders):
    a, b = orders["a"], orders["b"]
    assert ids(api, where={"shippingAddress.recipientName": {"like": "doe JOHN"}}) == pks(a)
    assert ids(api, where={"customerSnapshot.email": {"like": "minji example"}}) == pks(b)
    assert ids(api, where={"shippingAddress.recipientName": {"like": "john kim"}}) == []


def test_not_like(api, orders):
    b, c = orders["b"], orders["c"]
    assert ids(api, where={"shippingAddress.recipientName": {"not_like": "john"}}) == pks(b, c)


def test_contains_is_a_case_insensitive_substring(api, orders):
    a = orders["a"]
    assert ids(api, where={"shippingAddress.recipientName": {"contains": "OHN D"}}) == pks(a)
    assert ids(api, where={"shippingAddress.recipientName": {"contains": "doe john"}}) == []


@pytest.mark.parametrize("operator", ["like", "not_like", "contains"])
def test_text_operators_refuse_objects_and_numbers(api, orders, operator):
    assert "single value" in bad(api, {"orderNumber": {operator: {"a": "b"}}})
    if operator != "like":  # like on a number is equals (test_payload_shapes.py)
        assert "cannot be used on totalAmount" in bad(api, {"totalAmount": {operator: "1"}})


# Operators and paths that do not exist


def test_unknown_operator_is_named(api, orders):
    message = bad(api, {"status": {"eq": "paid"}})
    assert "eq" in message and "status" in message


@pytest.mark.parametrize("operator", ["all", "near", "within", "intersects"])
def test_payload_operators_for_fields_we_do_not_have(api, orders, operator):
    assert operator in bad(api, {"status": {operator: "x"}})


def test_unknown_paths_are_named_in_payloads_words(api, orders):
    answer = api.from_("orders").find_raw(where={"colour": {"equals": "red"}})
    assert answer.status == 400
    assert answer.json == {
        "errors": [
            {
                "name": "QueryError",
                "message": "The following path cannot be queried: colour",
                "data": [{"path": "colour"}],
            }
        ]
    }
    message = bad(api, {"or": [{"a": {"equals": 1}}, {"customer.password": {"equals": "x"}}]})
    assert message == "The following paths cannot be queried: a, customer.password"


def test_a_path_without_an_operator(api, orders):
    assert "needs an operator" in bad(api, {"status": "paid"})


# Paths, nesting, encodings


def test_and_or_nest(api, orders):
    a, b, c = orders["a"], orders["b"], orders["c"]
    where = {
        "or": [
            {"status": {"equals": "paid"}},
            {
                "and": [
                    {"status": {"in": ["pending", "failed"]}},
                    {"totalAmount": {"greater_than": 25000}},
                ]
            },
        ]
    }
    assert ids(api, where=where) == pks(a, b)
    assert ids(api, where={"and": [{"status": {"equals": "failed"}}]}) == pks(c)


def test_payloads_own_or_example_string(api, orders):
    url = (
        "/api/orders?depth=0&where[or][0][status][equals]=paid"
        "&where[or][1][status][in][0]=pending&where[or][1][status][in][1]=failed"
    )
    answer = api.transport("GET", url)
    everything = pks(orders["a"], orders["b"], orders["c"])
    assert sorted(d["id"] for d in answer.json["docs"]) == everything


def test_paths_across_relations(api, orders):
    a, b = orders["a"], orders["b"]
    assert ids(api, where={"customer.email": {"equals": "john@example.com"}}) == pks(a)
    item = b.items.get()
    assert ids(api, "order-items", where={"order.orderNumber": {"equals": b.order_number}}) == [
        item.pk
    ]
    assert ids(api, "order-items", where={"product.title": {"like": "mug"}}) == [item.pk]


def test_where_as_one_json_string(api, orders):
    answer = api.transport("GET", '/api/orders?depth=0&where={"status":{"equals":"failed"}}')
    assert [d["id"] for d in answer.json["docs"]] == [orders["c"].pk]
    broken = api.transport("GET", "/api/orders?where={status")
    assert broken.status == 400 and broken.json["errors"][0]["name"] == "QueryError"


def test_nesting_deeper_than_ten_levels_is_refused(api, orders):
    where: dict = {"status": {"equals": "paid"}}
    for _ in range(12):
        where = {"and": [where]}
    answer = api.from_("orders").find_raw(where=where)
    assert answer.status == 400


def test_where_never_widens_what_the_caller_sees(api, client, orders):
    """An anonymous caller is refused whatever the where says."""
    answer = client.get("/api/orders", {"where[customer][exists]": "true"})
    assert answer.status_code == 403
