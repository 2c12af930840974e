import pytest
from django.urls import reverse

from fulfillment import imports
from fulfillment import services as fulfillment_services
from fulfillment.imports import Action
from fulfillment.models import Fulfillment, FulfillmentStatus
from orders import services as order_services
from orders.models import OrderStatus, TransitionLog
from orders.values import ItemUnits
from shop.errors import DomainError
from tests.admin.shortcuts import place_order
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def outcomes(report) -> list[str]:
    return [row.action for row in report.rows]


# -- parse ----------------------------------------------------------------------------------------


def test_parse_reads_rows_skips_header_and_blank_lines():
    rows = imports.parse("order number,carrier,tracking\n\nA-1, cj ,111\nA-2,hanjin,222,SKU,2\n")
    assert [(r.line, r.order_number, r.carrier, r.tracking_number) for r in rows] == [
        (3, "A-1", "cj", "111"),
        (4, "A-2", "hanjin", "222"),
    ]
    assert (rows[1].sku, rows[1].quantity) == ("SKU", 2)


def test_parse_accepts_tabs_semicolons_and_bytes_with_bom():
    assert imports.parse("A-1\tcj\t111")[0].tracking_number == "111"
    assert imports.parse("A-1;cj;111")[0].carrier == "cj"
    assert imports.parse("\ufeffA-1,cj,111".encode())[0].order_number == "A-1"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("A-1,cj", "Expected: order number"),
        ("A-1,cj,111,SKU,two", "whole number"),
        ("A-1,cj,111,SKU,0", "whole number"),
        ("A-1,cj,111,,2", "needs a SKU"),
    ],
)
def test_parse_flags_malformed_rows(line, message):
    (row,) = imports.parse(line)
    assert message in row.error


def test_parse_refuses_what_is_not_utf8():
    with pytest.raises(DomainError):
        imports.parse(b"\xff\xfe\x00A")


# -- plan -----------------------------------------------------------------------------------------


def test_plan_says_what_each_row_would_do_and_writes_nothing():
    fresh = place_order(quantities=(2,))
    waiting = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=waiting)
    shipped = place_order(quantities=(1,))
    sent = fulfillment_services.create_fulfillment(order=shipped)
    fulfillment_services.ship_fulfillment(fulfillment=sent, carrier="cj", tracking_number="OLD")
    unpaid = place_order(paid=False)
    logs = TransitionLog.objects.count()

    text = "\n".join(
        [
            f"{fresh.order_number},cj,T1",
            f"{waiting.order_number},hanjin,T2",
            f"{shipped.order_number},cj,OLD",
            f"{unpaid.order_number},cj,T3",
            "NO-SUCH-ORDER,cj,T4",
            f"{fresh.order_number},cj,T5",
        ]
    )
    report = imports.import_tracking(text, dry_run=True)
    assert outcomes(report) == [
        Action.NEW,
        Action.SHIP,
        Action.SKIP,
        Action.ERROR,
        Action.ERROR,
        Action.ERROR,  # the first row took all of this order's units
    ]
    assert report.rows[1].fulfillment_id == parcel.pk
    assert "Pending payment" in report.rows[3].message
    assert "does not exist" in report.rows[4].message
    assert "no units left" in report.rows[5].message
    assert TransitionLog.objects.count() == logs
    assert Fulfillment.objects.count() == 2


def test_plan_with_skus_splits_an_order_into_parcels():
    products = [ProductFactory(sku="MUG"), ProductFactory(sku="TEE")]
    order = place_order(quantities=(3, 1), products=products)
    text = "\n".join(
        [
            f"{order.order_number},cj,P1,MUG,2",
            f"{order.order_number},cj,P2,MUG",  # the rest of the mugs: 1
            f"{order.order_number},cj,P3,MUG,1",  # none left
            f"{order.order_number},cj,P4,HAT",
            f"{order.order_number},cj,P1,TEE",  # the same tracking number twice
            f"{order.order_number},cj,P5",  # all remaining: the tee
        ]
    )
    report = imports.import_tracking(text, dry_run=True)
    assert outcomes(report) == [
        Action.NEW,
        Action.NEW,
        Action.ERROR,
        Action.ERROR,
        Action.ERROR,
        Action.NEW,
    ]
    assert [r.items for r in report.rows[:2]] == [
        [ItemUnits(order_item=order.items.get(sku="MUG").pk, quantity=2)],
        [ItemUnits(order_item=order.items.get(sku="MUG").pk, quantity=1)],
    ]
    assert "Only 0 unit(s) of MUG" in report.rows[2].message
    assert "no line with SKU HAT" in report.rows[3].message
    assert "Line 1 already ships" in report.rows[4].message


def test_plan_reads_a_fixed_number_of_queries_whatever_the_rows(django_assert_max_num_queries):
    orders = [place_order() for _ in range(30)]
    few = imports.parse("\n".join(f"{o.order_number},cj,X{i}" for i, o in enumerate(orders[:3])))
    many = imports.parse("\n".join(f"{o.order_number},cj,X{i}" for i, o in enumerate(orders)))
    with django_assert_max_num_queries(4):
        imports.plan(few)
    with django_assert_max_num_queries(4):
        planned = imports.plan(many)
    assert all(p.action == Action.NEW for p in planned)


# -- apply ----------------------------------------------------------------------------------------


def test_apply_ships_good_rows_reports_bad_ones_and_is_idempotent():
    first = place_order(quantities=(1,))
    second = place_order(quantities=(2,))
    unpaid = place_order(paid=False)
    text = (
        f"{first.order_number},cj,A1\n{unpaid.order_number},cj,A2\n{second.order_number},lotte,A3"
    )

    report = imports.import_tracking(text)
    assert outcomes(report) == [Action.NEW, Action.ERROR, Action.NEW]
    assert report.applied == 2
    for order, tracking, carrier in [(first, "A1", "cj"), (second, "A3", "lotte")]:
        order.refresh_from_db()
        parcel = Fulfillment.objects.get(order=order)
        assert (parcel.status, parcel.tracking_number, parcel.carrier) == (
            FulfillmentStatus.SHIPPED,
            tracking,
            carrier,
        )
        assert order.status == OrderStatus.SHIPPED
    unpaid.refresh_from_db()
    assert unpaid.status == OrderStatus.PENDING and not unpaid.fulfillments.exists()

    again = imports.import_tracking(text)
    assert outcomes(again) == [Action.SKIP, Action.ERROR, Action.SKIP]
    assert Fulfillment.objects.count() == 2


def test_a_row_refused_at_apply_time_rolls_back_alone():
    kept = place_order(quantities=(1,))
    canceled = place_order(quantities=(1,))
    planned = imports.plan(
        imports.parse(f"{canceled.order_number},cj,C1\n{kept.order_number},cj,C2")
    )
    assert [p.action for p in planned] == [Action.NEW, Action.NEW]
    order_services.cancel_order(order=canceled, reason="changed mind")  # after the dry run

    report = imports.apply(planned)
    assert outcomes(report) == [Action.ERROR, Action.NEW]
    assert not canceled.fulfillments.exists()
    assert kept.fulfillments.get().status == FulfillmentStatus.SHIPPED


# -- the admin page -------------------------------------------------------------------------------

IMPORT = reverse("admin:fulfillment_fulfillment_import")


def test_import_page_previews_then_applies(as_role):
    order = place_order(quantities=(1,))
    text = f"{order.order_number},cj,640100\nNOPE-1,cj,640101"
    client = as_role("warehouse")
    preview = client.post(IMPORT, {"text": text, "_preview": "1"})
    html = preview.content.decode()
    assert 'data-outcome="new"' in html and 'data-outcome="error"' in html
    assert "Order NOPE-1 does not exist." in html
    assert "Apply 1 row" in html
    assert not order.fulfillments.exists()

    answer = client.post(IMPORT, {"text": text, "_apply": "1"})
    assert answer.status_code == 302  # to the import's page (applied here: no broker)
    applied = client.get(answer["Location"]).content.decode()
    assert "1 row(s) applied" in applied
    assert order.fulfillments.get().tracking_number == "640100"


def test_import_page_accepts_an_uploaded_file(as_role):
    from django.core.files.uploadedfile import SimpleUploadedFile

    order = place_order(quantities=(1,))
    upload = SimpleUploadedFile("t.csv", f"{order.order_number},cj,9\n".encode(), "text/csv")
    html = as_role("warehouse").post(IMPORT, {"file": upload, "_preview": "1"}).content.decode()
    assert 'data-outcome="new"' in html


def test_import_page_needs_the_warehouse_permission(as_role):
    assert as_role("payments").get(IMPORT).status_code == 403
