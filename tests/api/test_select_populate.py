"""select and populate: a storefront asks for the fields it shows, and gets only those.

Payload: ``packages/payload/src/utilities/sanitizeSelectParam.ts`` ("true"/"false" read as
booleans), ``packages/payload/src/utilities/getSelectMode.ts`` (a false makes it exclude mode),
``packages/payload/src/utilities/sanitizePopulateParam.ts`` and
``packages/payload/src/fields/hooks/afterRead/relationshipPopulationPromise.ts`` (a populated
document of a collection gets ``populate[<collection>]`` as its select); ``id`` always stays.
"""

import pytest

from tests.api.shop_data import order_with_requests, paid_order
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_select_true_keeps_only_those_fields_and_the_id(api):
    order = paid_order()
    answer = api.from_("orders").find(select={"orderNumber": True})
    assert answer["docs"] == [{"id": order.pk, "orderNumber": order.order_number}]
    doc = api.from_("orders").find_by_id(order.pk, select={"orderNumber": True, "status": True})
    assert doc == {"id": order.pk, "orderNumber": order.order_number, "status": "paid"}
    raw = api.transport("GET", f"/api/orders/{order.pk}?select[orderNumber]=true").json
    assert raw == {"id": order.pk, "orderNumber": order.order_number}


def test_select_false_leaves_out_only_those_fields(api):
    order = paid_order()
    order.staff_note = "fragile"
    order.save(update_fields=["staff_note"])
    full = api.from_("orders").find_by_id(order.pk)
    doc = api.from_("orders").find_by_id(order.pk, select={"staffNote": False})
    assert "staffNote" not in doc
    assert doc == {k: v for k, v in full.items() if k != "staffNote"}


def test_select_into_a_group_and_a_join(api):
    order = paid_order(quantities=(1, 2))
    doc = api.from_("orders").find_by_id(
        order.pk, select={"shippingAddress": {"postalCode": True}, "items": True}
    )
    assert set(doc) == {"id", "shippingAddress", "items"}
    assert doc["shippingAddress"] == {"postalCode": order.shipping_postal_code}
    assert len(doc["items"]["docs"]) == 2


def test_populate_limits_the_fields_of_populated_documents(api):
    customer = CustomerFactory(email="jo@example.com")
    order = paid_order(customer=customer)
    doc = api.from_("orders").find_by_id(order.pk, populate={"customers": {"email": True}})
    assert doc["customer"] == {"id": customer.pk, "email": "jo@example.com"}
    assert doc["orderNumber"] == order.order_number  # the order itself is whole
    items = api.from_("orders").find_by_id(
        order.pk, depth=1, populate={"order-items": {"sku": True}}
    )["items"]["docs"]
    assert items == [{"id": i.pk, "sku": i.sku} for i in order.items.order_by("id")]
    raw = api.transport("GET", f"/api/orders/{order.pk}?populate[customers][email]=true").json
    assert raw["customer"] == {"id": customer.pk, "email": "jo@example.com"}


def test_select_and_populate_together_at_depth_two(api):
    order = order_with_requests()
    doc = api.from_("orders").find_by_id(
        order.pk,
        depth=2,
        select={"orderNumber": True, "items": True},
        populate={"products": {"title": True}, "order-items": {"product": True}},
    )
    assert set(doc) == {"id", "orderNumber", "items"}
    line = doc["items"]["docs"][0]
    assert set(line) == {"id", "product"}
    assert set(line["product"]) == {"id", "title"}
