"""Tracking numbers over the API: stored without the spaces and dashes people type, and every
correction of a parcel's carrier or number recorded in the order's timeline (who, what, from
what, to what)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from fulfillment import services
from fulfillment.carriers import normalize_tracking_number
from fulfillment.models import Fulfillment
from orders.models import TransitionLog
from tests.api.payload_client import DjangoTransport, PayloadClient
from tests.helpers import db_snapshot, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    user = get_user_model().objects.create_superuser("dispatcher", "d@example.com", "pw-12345678")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def api(staff_client):
    return PayloadClient(DjangoTransport(staff_client))


def shipped_parcel(carrier="cj", tracking_number="640100001111") -> Fulfillment:
    order = place_order(quantities=(1,))
    parcel = services.create_fulfillment(order=order)
    return services.ship_fulfillment(
        fulfillment=parcel, carrier=carrier, tracking_number=tracking_number
    )


def corrections(api, order_id) -> list[dict]:
    """The order's API timeline entries that correct a parcel's tracking details."""
    answer = api.get(f"/api/orders/{order_id}/timeline?limit=100")
    assert answer.status == 200
    return [
        entry
        for entry in answer.json["docs"]
        if entry["collection"] == "fulfillments" and entry["transition"] == "correct_tracking"
    ]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("6123 4567 8901", "612345678901"),
        ("6123-4567-8901", "612345678901"),
        (" 1z 999-aa1 0123456784 ", "1Z999AA10123456784"),
        ("６１２３\u00a0４５６７–８９０１", "612345678901"),  # full-width digits, NBSP, en dash
        ("", ""),
    ],
)
def test_normalize_tracking_number(typed, stored):
    assert normalize_tracking_number(typed) == stored


def test_patch_correcting_a_shipped_parcel_is_in_the_timeline(api, staff_client):
    parcel = shipped_parcel(carrier="cj", tracking_number="640100001111")

    answer = api.from_("fulfillments").update(
        {"carrier": "hanjin", "trackingNumber": "5123 4567-8901", "reason": "relabelled"},
        parcel.pk,
    )

    assert answer.status == 200, answer.json
    doc = answer.json["doc"]
    assert (doc["status"], doc["carrier"], doc["trackingNumber"]) == (
        "shipped",
        "hanjin",
        "512345678901",
    )
    assert doc["trackingUrl"].endswith("wblnum=512345678901")
    (entry,) = corrections(api, parcel.order_id)
    assert entry["doc"] == parcel.pk
    assert entry["actor"] == {"kind": "staff", "label": "dispatcher"}
    assert (entry["from"], entry["to"]) == ("shipped", "shipped")  # no state change
    assert entry["changes"] == {
        "carrier": {"from": "cj", "to": "hanjin"},
        "trackingNumber": {"from": "640100001111", "to": "512345678901"},
    }
    assert entry["reason"] == "relabelled"

    # The staff timeline on the order's page shows the same entry.
    html = staff_client.get(
        reverse("admin:orders_order_change", args=[parcel.order_id])
    ).content.decode()
    timeline = html[html.index('id="order-timeline"') :]
    assert "dispatcher" in timeline
    assert "640100001111 → 512345678901" in timeline
    assert "cj → hanjin" in timeline
    assert "relabelled" in timeline


def test_only_what_changed_is_recorded_and_an_unchanged_patch_records_nothing(api):
    parcel = shipped_parcel(carrier="cj", tracking_number="640100001111")

    same = api.from_("fulfillments").update(
        {"carrier": "cj", "trackingNumber": "6401-0000-1111"}, parcel.pk
    )
    assert same.status == 200, same.json
    assert corrections(api, parcel.order_id) == []

    number_only = api.from_("fulfillments").update({"trackingNumber": "640100002222"}, parcel.pk)
    assert number_only.status == 200, number_only.json
    (entry,) = corrections(api, parcel.order_id)
    assert entry["changes"] == {"trackingNumber": {"from": "640100001111", "to": "640100002222"}}

    note_only = api.from_("fulfillments").update({"note": "left at the door"}, parcel.pk)
    assert note_only.status == 200
    assert len(corrections(api, parcel.order_id)) == 1


def test_a_delivered_parcels_tracking_is_refused_and_nothing_is_written(api):
    parcel = shipped_parcel()
    services.deliver_fulfillment(fulfillment=parcel)
    before = db_snapshot()

    answer = api.from_("fulfillments").update({"trackingNumber": "999"}, parcel.pk)

    assert answer.status == 400
    assert answer.json["errors"][0]["message"].endswith(
        "is delivered: its tracking details no longer change."
    )
    assert db_snapshot() == before


def test_a_number_that_normalises_to_nothing_cannot_replace_a_shipped_parcels(api):
    parcel = shipped_parcel()
    before = db_snapshot()
    answer = api.from_("fulfillments").update({"trackingNumber": " - - "}, parcel.pk)
    assert answer.status == 400
    assert "keeps a tracking number" in answer.json["errors"][0]["message"]
    assert db_snapshot() == before


def test_numbers_are_stored_normalised_on_create_and_ship_with_links_without_spaces(api):
    order = place_order(quantities=(1, 1))
    lines = list(order.items.order_by("pk"))
    created = api.from_("fulfillments").create(
        {"order": order.pk, "items": [{"orderItem": lines[0].pk}], "trackingNumber": "6123 4567"}
    )
    assert created.status == 201, created.json
    assert created.json["doc"]["trackingNumber"] == "61234567"

    waiting = api.from_("fulfillments").create(
        {"order": order.pk, "items": [{"orderItem": lines[1].pk}]}
    )
    shipped = api.from_("fulfillments").update(
        {"status": "shipped", "carrier": "cj", "trackingNumber": "6123 4567 8901"},
        waiting.json["doc"]["id"],
    )
    assert shipped.status == 200, shipped.json
    doc = shipped.json["doc"]
    assert doc["trackingNumber"] == "612345678901"
    assert doc["trackingUrl"] == (
        "https://trace.cjlogistics.com/next/tracking.html?wblNo=612345678901"
    )
    assert "%20" not in doc["trackingUrl"]
    stored = Fulfillment.objects.get(pk=doc["id"])
    assert stored.tracking_number == "612345678901"
    # The shipping entry says which number the parcel left with.
    ship = TransitionLog.objects.get(transition="ship", object_id=stored.pk)
    assert ship.changes == {
        "carrier": {"from": "", "to": "cj"},
        "tracking_number": {"from": "", "to": "612345678901"},
    }


def test_the_data_migration_normalises_stored_numbers():
    from importlib import import_module

    from django.apps import apps
    from django.db import connection

    migration = import_module("fulfillment.migrations.0003_normalise_tracking_numbers")
    typed = shipped_parcel(tracking_number="640100009999")
    clean = shipped_parcel(tracking_number="640100008888")
    # Rows written before numbers were normalised, as they were typed.
    Fulfillment.objects.filter(pk=typed.pk).update(tracking_number="6123 4567-8901 ab")
    Fulfillment.objects.filter(pk=clean.pk).update(tracking_number="UPS/77")

    with connection.schema_editor() as schema_editor:
        migration.normalise_tracking_numbers(apps, schema_editor)

    assert Fulfillment.objects.get(pk=typed.pk).tracking_number == "612345678901AB"
    assert Fulfillment.objects.get(pk=clean.pk).tracking_number == "UPS/77"  # nothing to strip
    assert migration.normalise("６１２３ 4567") == normalize_tracking_number("６１２３ 4567")
