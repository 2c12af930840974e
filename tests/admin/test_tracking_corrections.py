"""Tracking numbers in the admin: a correction button on a parcel, recorded in the order's
timeline; numbers stored without spaces or dashes, found by search as typed; the tracking import
matching a file's numbers however they are spaced."""

import pytest
from django.urls import reverse

from fulfillment import imports
from fulfillment import services as fulfillment_services
from fulfillment.models import FulfillmentStatus
from orders.models import TransitionLog
from tests.admin.shortcuts import place_order

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:fulfillment_fulfillment_import")


def run_url(parcel, name):
    return reverse("admin:fulfillment_fulfillment_run", args=[parcel.pk, name])


def order_url(order_id):
    return reverse("admin:orders_order_change", args=[order_id])


def shipped_parcel(carrier="cj", tracking_number="640100001111"):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    return fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier=carrier, tracking_number=tracking_number
    )


def test_warehouse_corrects_a_shipped_parcel_and_the_timeline_says_who_and_what(as_role):
    parcel = shipped_parcel(carrier="cj", tracking_number="640100001111")
    client = as_role("warehouse")

    page = client.get(order_url(parcel.order_id)).content.decode()
    assert run_url(parcel, "correct_tracking") in page  # the button, on the parcel's row
    form = client.get(run_url(parcel, "correct_tracking")).content.decode()
    assert 'value="640100001111"' in form  # starts from what is stored

    response = client.post(
        run_url(parcel, "correct_tracking"),
        {"carrier": "lotte", "tracking_number": "2345 6789-0123", "reason": "wrong label"},
    )
    assert response.status_code == 302
    parcel.refresh_from_db()
    assert (parcel.status, parcel.carrier, parcel.tracking_number) == (
        "shipped",
        "lotte",
        "234567890123",
    )
    log = TransitionLog.objects.get(transition="correct_tracking", object_id=parcel.pk)
    assert (log.actor_kind, log.actor_label, log.source, log.target) == (
        "staff",
        "warehouse",
        "shipped",
        "shipped",
    )
    assert log.changes == {
        "carrier": {"from": "cj", "to": "lotte"},
        "tracking_number": {"from": "640100001111", "to": "234567890123"},
    }

    html = as_role("manager").get(order_url(parcel.order_id)).content.decode()
    timeline = html[html.index('id="order-timeline"') :]
    assert "warehouse" in timeline
    assert "cj → lotte" in timeline
    assert "640100001111 → 234567890123" in timeline
    assert "wrong label" in timeline
    assert "InvNo=234567890123" in html  # the parcel's link follows the correction


def test_correction_needs_the_warehouse_permission_and_stops_at_delivery(as_role):
    parcel = shipped_parcel()
    url = run_url(parcel, "correct_tracking")
    assert as_role("service").post(url, {"tracking_number": "1"}).status_code == 403

    fulfillment_services.deliver_fulfillment(fulfillment=parcel)
    client = as_role("warehouse")
    page = client.get(order_url(parcel.order_id)).content.decode()
    assert url not in page  # no button on a delivered parcel
    response = client.post(url, {"carrier": "cj", "tracking_number": "999"})
    assert response.status_code == 200
    assert "no longer change" in response.content.decode()
    parcel.refresh_from_db()
    assert (parcel.status, parcel.tracking_number) == (FulfillmentStatus.DELIVERED, "640100001111")
    assert not TransitionLog.objects.filter(transition="correct_tracking").exists()


def test_shipping_stores_the_number_without_spaces_and_links_it_cleanly(as_role):
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    client = as_role("warehouse")
    client.post(run_url(parcel, "ship"), {"carrier": "cj", "tracking_number": "6123 4567 8901"})
    parcel.refresh_from_db()
    assert parcel.tracking_number == "612345678901"
    html = client.get(order_url(order.pk)).content.decode()
    assert "wblNo=612345678901" in html
    assert "%20" not in html

    # Staff search the order list with the number as printed on the label.
    found = as_role("manager").get(
        reverse("admin:orders_order_changelist"), {"q": "6123 4567 8901"}
    )
    assert [o.pk for o in found.context["cl"].result_list] == [order.pk]
    parcels = as_role("manager").get(
        reverse("admin:fulfillment_fulfillment_changelist"), {"q": "6123-4567-8901"}
    )
    assert [p.pk for p in parcels.context["cl"].result_list] == [parcel.pk]


def test_import_rows_match_stored_numbers_however_they_are_spaced(as_role):
    order = place_order(quantities=(1,))
    client = as_role("warehouse")

    started = client.post(
        IMPORT, {"text": f"{order.order_number},cj,6123 4567 8901", "_apply": "1"}
    )
    assert started.status_code == 302  # to the import's page (applied here: no broker)
    assert "1 row(s) applied" in client.get(started["Location"]).content.decode()
    parcel = order.fulfillments.get()
    assert (parcel.status, parcel.tracking_number) == ("shipped", "612345678901")

    # The same parcel in a later file, written with dashes: already done, nothing shipped twice.
    again = client.post(
        IMPORT, {"text": f"{order.order_number},cj,6123-4567-8901", "_apply": "1"}, follow=True
    ).content.decode()
    assert 'data-outcome="skip"' in again
    assert order.fulfillments.count() == 1

    # Two rows of one file naming the same number differently are one parcel, not two.
    other = place_order(quantities=(1, 1))
    text = f"{other.order_number},cj,7000 1111\n{other.order_number},cj,7000-1111"
    preview = client.post(IMPORT, {"text": text, "_preview": "1"}).content.decode()
    assert "already ships a parcel of this order with this tracking number" in preview


def test_an_import_row_whose_number_is_only_separators_is_malformed():
    (row,) = imports.parse("A-1,cj, - - ")
    assert row.tracking_number == ""
    assert "Expected: order number" in row.error
