"""Writes as a Payload client makes them: creates, PATCH {status} running the services'
transitions, bulk changes, and every refusal in the one error shape with nothing written."""

import pytest

from fulfillment.models import Fulfillment
from orders.models import Order, Transaction, TransitionLog
from returns.models import Exchange, Return
from shop.models import CartItem, Product
from tests.api.shop_data import delivered_order, order_with_requests, paid_order
from tests.factories import CartFactory, CustomerFactory, OptionFactory, ProductFactory
from tests.helpers import db_snapshot

pytestmark = pytest.mark.django_db


def status_of(obj):
    return type(obj).objects.values_list("status", flat=True).get(pk=obj.pk)


# Fulfilments


def test_a_fulfilment_is_created_then_moved_by_patching_its_status(api):
    order = paid_order(quantities=(2, 1))
    first = order.items.order_by("id").first()
    created = api.from_("fulfillments").create(
        {"order": order.pk, "items": [{"orderItem": first.pk, "quantity": 2}]}
    )
    assert created.status == 201, created.json
    assert created.json["message"] == "Fulfillment successfully created."
    parcel = created.json["doc"]
    assert parcel["status"] == "pending" and parcel["order"]["status"] == "preparing"
    assert [(i["orderItem"], i["quantity"]) for i in parcel["items"]["docs"]] == [(first.pk, 2)]

    packed = api.from_("fulfillments").update({"status": "packed"}, parcel["id"])
    assert packed.status == 200 and packed.json["message"] == "Updated successfully."
    assert packed.json["doc"]["status"] == "packed"

    shipped = api.from_("fulfillments").update(
        {"status": "shipped", "carrier": "cj", "trackingNumber": "640100001111"}, parcel["id"]
    )
    assert shipped.status == 200, shipped.json
    doc = shipped.json["doc"]
    assert (doc["status"], doc["carrier"], doc["trackingNumber"]) == (
        "shipped",
        "cj",
        "640100001111",
    )
    assert doc["carrierName"] == "CJ Logistics" and "640100001111" in doc["trackingUrl"]
    assert doc["order"]["status"] == "preparing"  # one line is not shipped yet

    rest = api.from_("fulfillments").create({"order": order.pk, "trackingNumber": "2"})
    api.from_("fulfillments").update({"status": "shipped"}, rest.json["doc"]["id"])
    assert status_of(order) == "shipped"
    for pk in (parcel["id"], rest.json["doc"]["id"]):
        assert api.from_("fulfillments").update({"status": "delivered"}, pk).status == 200
    assert status_of(order) == "delivered"
    log = TransitionLog.objects.filter(order=order, transition="ship").first()
    assert (log.actor_kind, log.actor_label) == ("staff", "boss")


def test_a_move_the_state_cannot_make_is_409_naming_the_state_and_the_way_on(api):
    order = paid_order()
    parcel = api.from_("fulfillments").create({"order": order.pk}).json["doc"]
    answer = api.from_("fulfillments").update({"status": "delivered"}, parcel["id"])
    assert answer.status == 409
    assert answer.json == {
        "errors": [
            {
                "name": "TransitionError",
                "message": f"Cannot move fulfillment {parcel['id']} from pending to delivered",
                "data": {"status": "pending", "allowed": ["packed", "shipped", "failed"]},
            }
        ]
    }
    assert Fulfillment.objects.get(pk=parcel["id"]).status == "pending"


def test_shipping_needs_a_tracking_number_and_nothing_changes_without_one(api):
    order = paid_order()
    parcel = api.from_("fulfillments").create({"order": order.pk}).json["doc"]
    answer = api.from_("fulfillments").update({"status": "shipped", "carrier": "ups"}, parcel["id"])
    assert answer.status == 400
    assert answer.json["errors"][0]["data"]["errors"][0]["path"] == "trackingNumber"
    stored = Fulfillment.objects.get(pk=parcel["id"])
    assert (stored.status, stored.carrier) == ("pending", "")


def test_tracking_details_are_corrected_without_a_transition(api):
    order = delivered_order()
    parcel = order.fulfillments.get()
    Fulfillment.objects.filter(pk=parcel.pk).update(status="shipped")
    answer = api.from_("fulfillments").update(
        {"trackingNumber": "999", "note": "relabelled"}, parcel.pk
    )
    assert answer.status == 200, answer.json
    assert (
        answer.json["doc"]["trackingNumber"] == "999" and answer.json["doc"]["note"] == "relabelled"
    )
    assert answer.json["doc"]["status"] == "shipped"


def test_a_failed_parcel_records_its_reason_and_can_be_retried(api):
    order = paid_order()
    parcel = api.from_("fulfillments").create({"order": order.pk}).json["doc"]
    api.from_("fulfillments").update({"status": "failed", "reason": "box damaged"}, parcel["id"])
    log = TransitionLog.objects.get(transition="fail", object_id=parcel["id"])
    assert log.reason == "box damaged"
    again = api.from_("fulfillments").update({"status": "pending"}, parcel["id"])
    assert again.json["doc"]["status"] == "pending"


# Orders


def test_cancel_by_patch_voids_the_payment(api):
    order = paid_order()
    answer = api.from_("orders").update(
        {"status": "canceled", "reason": "customer asked"}, order.pk
    )
    assert answer.status == 200, answer.json
    assert answer.json["doc"]["status"] == "canceled"
    assert answer.json["doc"]["transactions"]["docs"][0]["status"] == "canceled"
    assert TransitionLog.objects.get(order=order, transition="cancel").reason == "customer asked"


def test_payment_states_by_patch(api):
    order = paid_order(paid=False)
    failed = api.from_("orders").update({"status": "failed"}, order.pk)
    assert failed.json["doc"]["status"] == "failed"
    assert api.from_("orders").update({"status": "pending"}, order.pk).json["doc"]["status"] == (
        "pending"
    )
    paid = api.from_("orders").update({"status": "paid"}, order.pk).json["doc"]
    assert paid["status"] == "paid"
    assert [t["status"] for t in paid["transactions"]["docs"]] == ["paid", "failed"]


def test_statuses_that_follow_the_children_are_refused(api):
    order = paid_order()
    answer = api.from_("orders").update({"status": "shipped"}, order.pk)
    assert answer.status == 409
    error = answer.json["errors"][0]
    assert error["name"] == "TransitionError" and "fulfillments" in error["message"]
    assert error["data"] == {"status": "paid", "allowed": ["canceled"]}
    wrong = api.from_("orders").update({"status": "confirmed"}, order.pk)
    assert wrong.status == 409 and wrong.json["errors"][0]["data"]["status"] == "paid"
    assert status_of(order) == "paid"


def test_confirm_a_delivered_order(api):
    order = delivered_order()
    answer = api.from_("orders").update({"status": "confirmed"}, order.pk)
    assert answer.json["doc"]["status"] == "confirmed"


def test_staff_note_and_address_edits(api):
    order = paid_order()
    answer = api.from_("orders").update(
        {"staffNote": "gift wrap", "shippingAddress": {"postalCode": "04524"}}, order.pk
    )
    doc = answer.json["doc"]
    assert doc["staffNote"] == "gift wrap" and doc["shippingAddress"]["postalCode"] == "04524"
    assert doc["shippingAddress"]["address1"] == "123 Main St"  # other keys kept
    shipped = delivered_order()
    refused = api.from_("orders").update({"shippingAddress": {"postalCode": "1"}}, shipped.pk)
    assert refused.status == 400 and "shipping address" in refused.json["errors"][0]["message"]


def test_a_change_to_a_read_only_field_is_refused_and_unknown_keys_ignored(api):
    order = paid_order()
    answer = api.from_("orders").update({"totalAmount": 1, "colour": "red"}, order.pk)
    assert answer.status == 400
    error = answer.json["errors"][0]
    assert error["name"] == "ValidationError"
    assert error["message"] == "The following field is invalid: Total Amount"
    assert error["data"]["collection"] == "orders"
    assert [e["path"] for e in error["data"]["errors"]] == ["totalAmount"]
    assert Order.objects.get(pk=order.pk).total_amount == 10000 * 2


def test_a_whole_document_sent_back_keeps_its_read_only_keys_quiet(api):
    order = paid_order()
    answer = api.from_("orders").update(
        {"id": order.pk, "createdAt": "x", "status": "paid", "staffNote": "ok"}, order.pk
    )
    assert answer.status == 200 and answer.json["doc"]["staffNote"] == "ok"


# Returns and exchanges


def test_a_return_from_request_to_refund(api):
    order = delivered_order()
    line = order.items.order_by("id").first()
    created = api.from_("returns").create(
        {"order": order.pk, "reason": "defective", "items": [{"orderItem": line.pk, "quantity": 1}]}
    )
    assert created.status == 201, created.json
    request = created.json["doc"]
    assert (request["status"], request["reason"]) == ("requested", "defective")
    assert request["order"]["status"] == "return_requested"
    assert request["refundAmount"] == line.unit_price

    too_soon = api.from_("returns").update({"status": "completed"}, request["id"])
    assert too_soon.status == 409
    assert too_soon.json["errors"][0]["data"] == {
        "status": "requested",
        "allowed": ["approved", "rejected"],
    }

    api.from_("returns").update({"status": "approved"}, request["id"])
    received = api.from_("returns").update(
        {"status": "processing", "restock": {str(line.pk): 0}}, request["id"]
    )
    assert received.json["doc"]["status"] == "processing"
    assert received.json["doc"]["items"]["docs"][0]["restockQuantity"] == 0
    done = api.from_("returns").update({"status": "completed", "refundAmount": 5000}, request["id"])
    assert done.status == 200, done.json
    refund = Transaction.objects.get(order=order, kind="refund")
    assert refund.amount == 5000 and done.json["doc"]["refundTransaction"]["id"] == refund.pk


def test_a_return_refuses_bad_requests_and_writes_nothing(api):
    order = delivered_order()
    line = order.items.first()
    for body in (
        {"order": order.pk, "reason": "bored", "items": [{"orderItem": line.pk}]},
        {"order": order.pk, "reason": "defective", "items": []},
        {
            "order": order.pk,
            "reason": "defective",
            "items": [{"orderItem": line.pk, "quantity": 9}],
        },
        {"order": 999999, "reason": "defective", "items": [{"orderItem": line.pk}]},
    ):
        answer = api.from_("returns").create(body)
        assert answer.status == 400, (body, answer.json)
        assert answer.json["errors"][0]["message"]
    assert not Return.objects.exists() and status_of(order) == "delivered"


def test_a_rejected_exchange_gives_the_order_back(api):
    order = delivered_order()
    line = order.items.order_by("id").last()
    replacement = OptionFactory(variant=line.variant)
    created = api.from_("exchanges").create(
        {
            "order": order.pk,
            "reason": "wrong_size",
            "items": [{"orderItem": line.pk, "quantity": 1, "replacementOption": replacement.pk}],
        }
    )
    assert created.status == 201, created.json
    doc = created.json["doc"]
    assert doc["reason"] == "wrong_size"
    assert doc["items"]["docs"][0]["replacementOption"] == replacement.pk
    wrong = api.from_("exchanges").update({"rejectionReason": "no"}, doc["id"])
    assert wrong.status == 400
    rejected = api.from_("exchanges").update(
        {"status": "rejected", "rejectionReason": "worn"}, doc["id"]
    )
    assert rejected.json["doc"]["status"] == "rejected"
    assert rejected.json["doc"]["rejectionReason"] == "worn"
    assert status_of(order) == "delivered"


def test_a_completed_exchange_sends_a_replacement_parcel(api):
    order = order_with_requests()
    exchange = Exchange.objects.get(order=order)
    for status in ("approved", "processing", "completed"):
        answer = api.from_("exchanges").update({"status": status}, exchange.pk)
        assert answer.status == 200, answer.json
    assert Fulfillment.objects.filter(exchange=exchange).count() == 1


# Transactions


def test_payments_are_recorded_and_failed_through_transactions(api):
    order = paid_order(paid=False)
    failed = api.from_("transactions").create(
        {"order": order.pk, "status": "failed", "method": "card", "reason": "declined"}
    )
    assert failed.status == 201 and failed.json["doc"]["status"] == "failed"
    assert failed.json["doc"]["method"] == "card"
    assert status_of(order) == "failed"
    paid = api.from_("transactions").create(
        {"order": order.pk, "totalAmount": 20000, "paymentId": "pay_x", "paymentMethod": "card"}
    )
    assert paid.status == 201, paid.json
    assert paid.json["doc"]["amount"] == 20000 and status_of(order) == "paid"
    duplicate = api.from_("transactions").create({"order": order.pk, "paymentId": "pay_x"})
    assert duplicate.status == 409


@pytest.mark.parametrize("amount", ["lots", "12.5", True, {"value": 1}])
def test_a_payment_amount_that_is_not_a_whole_number_is_refused_by_the_api(api, amount):
    """The API's field parses the amount once; the service takes a number."""
    order = paid_order(paid=False)
    before = db_snapshot()
    answer = api.from_("transactions").create({"order": order.pk, "amount": amount})
    assert answer.status == 400, answer.json
    assert "amount" in str(answer.json["errors"])
    assert db_snapshot() == before


# What is never written


@pytest.mark.parametrize("slug", ["orders", "order-items", "transactions", "fulfillments"])
def test_history_is_never_deleted(api, slug):
    order_with_requests()
    pk = api.from_(slug).find(depth=0)["docs"][0]["id"]
    answer = api.from_(slug).delete(pk)
    assert answer.status == 403
    assert answer.json == {"errors": [{"message": "You are not allowed to perform this action."}]}
    bulk = api.from_(slug).delete(where={"id": {"equals": pk}})
    assert bulk.status == 403
    assert api.from_(slug).find_by_id(pk)["id"] == pk


@pytest.mark.parametrize("slug", ["order-items", "fulfillment-items", "return-items"])
def test_lines_are_written_with_their_parent_only(api, slug):
    answer = api.from_(slug).create({"quantity": 1})
    assert answer.status == 405
    assert answer.json["errors"][0]["message"]


def test_malformed_json_and_non_objects(api, http_client):
    order = paid_order()
    broken = http_client.generic(
        "PATCH", f"/api/orders/{order.pk}", "{status: paid", content_type="application/json"
    )
    assert broken.status_code == 400
    assert broken.json() == {"errors": [{"message": "Invalid JSON"}]}
    listed = api.from_("orders").update(["paid"], order.pk)
    assert listed.status == 400
    assert listed.json["errors"][0]["message"] == "The request body must be a JSON object."


# Catalog and carts


def test_validation_errors_name_the_field(api):
    cart = CartFactory()
    product = ProductFactory()
    answer = api.from_("cart-items").create({"cart": cart.pk, "product": product.pk, "quantity": 0})
    assert answer.status == 400
    assert answer.json == {
        "errors": [
            {
                "name": "ValidationError",
                "message": "The following field is invalid: Quantity",
                "data": {
                    "collection": "cart-items",
                    "errors": [
                        {"path": "quantity", "message": "Must be at least 1.", "label": "Quantity"}
                    ],
                },
            }
        ]
    }
    assert not CartItem.objects.exists()


def test_cart_lines_must_belong_together(api):
    cart = CartFactory()
    option = OptionFactory()
    other = ProductFactory()
    answer = api.from_("cart-items").create(
        {"cart": cart.pk, "product": other.pk, "variant": option.variant_id}
    )
    assert answer.status == 400 and "is not a variant of" in answer.json["errors"][0]["message"]
    line = api.from_("cart-items").create(
        {"cart": cart.pk, "product": option.variant.product_id, "option": option.pk}
    )
    assert line.json["doc"]["variant"]["id"] == option.variant_id  # taken from the option
    changed = api.from_("cart-items").update({"quantity": 3}, line.json["doc"]["id"])
    assert changed.json["doc"]["quantity"] == 3
    removed = api.from_("cart-items").delete(line.json["doc"]["id"])
    assert removed.status == 200 and removed.json["message"] == "Deleted successfully."
    assert not CartItem.objects.exists()


def test_catalog_rows_are_created_changed_and_deleted(api):
    created = api.from_("products").create({"title": "Mug", "sku": "MUG", "price": 18000})
    pk = created.json["doc"]["id"]
    duplicate = api.from_("products").create({"title": "Mug 2", "sku": "MUG"})
    assert duplicate.status == 400
    assert duplicate.json["errors"][0]["data"]["errors"][0]["path"] == "sku"
    negative = api.from_("products").update({"price": -1}, pk)
    assert negative.status == 400 and Product.objects.get(pk=pk).price == 18000
    assert api.from_("products").update({"price": 17000}, pk).json["doc"]["price"] == 17000
    assert api.from_("products").delete(pk).json["doc"]["title"] == "Mug"
    assert not Product.objects.filter(pk=pk).exists()


def test_a_product_that_was_sold_cannot_be_deleted(api):
    order = paid_order()
    product_id = order.items.first().product_id
    answer = api.from_("products").delete(product_id)
    assert answer.status == 409 and Product.objects.filter(pk=product_id).exists()


def test_customer_email_is_unique(api):
    CustomerFactory(email="taken@example.com")
    answer = api.from_("customers").create({"name": "X", "email": "taken@example.com"})
    assert answer.status == 400
    assert answer.json["errors"][0]["data"]["errors"][0]["path"] == "email"


# Bulk


def test_bulk_patch_runs_each_document_through_the_services(api):
    order = paid_order(quantities=(1, 1))
    lines = list(order.items.order_by("id"))
    parcels = [
        api.from_("fulfillments")
        .create({"order": order.pk, "items": [{"orderItem": line.pk}]})
        .json["doc"]["id"]
        for line in lines
    ]
    answer = api.from_("fulfillments").update(
        {"status": "packed"}, where={"order": {"equals": order.pk}}
    )
    assert answer.status == 200, answer.json
    assert answer.json["message"] == "Updated 2 Fulfillments successfully."
    assert answer.json["errors"] == []
    assert sorted(d["id"] for d in answer.json["docs"]) == sorted(parcels)
    api.from_("fulfillments").update({"status": "shipped", "trackingNumber": "1"}, parcels[0])
    partly = api.from_("fulfillments").update({"status": "failed"}, where={"id": {"in": parcels}})
    assert partly.status == 200  # both can fail
    again = api.from_("fulfillments").update({"status": "packed"}, where={"id": {"in": parcels}})
    assert again.status == 400
    assert again.json["message"] == "Unable to update 2 out of 2 Fulfillments."
    assert {e["id"] for e in again.json["errors"]} == set(parcels)


def test_bulk_changes_need_a_where(api):
    answer = api.from_("fulfillments").update({"status": "packed"})
    assert answer.status == 400 and "where" in answer.json["errors"][0]["message"]


def test_bulk_delete_of_catalog_rows(api):
    keep = ProductFactory(title="Keep")
    for n in range(3):
        ProductFactory(title=f"Old {n}")
    answer = api.from_("products").delete(where={"title": {"like": "old"}})
    assert answer.status == 200
    assert answer.json["message"] == "Deleted 3 Products successfully."
    assert list(Product.objects.all()) == [keep]


def test_a_bug_is_a_500_in_the_error_shape_with_details_only_in_the_log(api, monkeypatch, caplog):
    from shop.api.collections import registry

    def broken(request, data):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(registry.get("products"), "create", broken)
    answer = api.from_("products").create({"title": "x"})
    assert answer.status == 500
    assert answer.json == {"errors": [{"message": "Something went wrong."}]}
    assert "secret detail" in caplog.text


def test_methods_a_route_does_not_have_are_405_in_the_error_shape(http_client):
    answer = http_client.put("/api/orders/1", "{}", content_type="application/json")
    assert answer.status_code == 405
    assert answer.json()["errors"][0]["message"]
