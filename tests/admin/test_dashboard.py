from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment
from orders.models import Order
from returns import services as return_services
from returns.values import ReturnLine
from tests.admin.shortcuts import deliver_everything, place_order

pytestmark = pytest.mark.django_db

HOME = reverse("admin:index")


def queues(response) -> dict:
    return {q.key: q for q in response.context["work_queues"]}


def test_home_counts_each_queue_and_links_to_its_list(as_role):
    place_order(paid=False)  # awaiting payment
    fresh = place_order()  # paid, not in fulfilment
    stale = place_order()
    Order.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(hours=30))
    packed = place_order()
    parcel = fulfillment_services.create_fulfillment(order=packed)
    fulfillment_services.pack_fulfillment(fulfillment=parcel)
    late = place_order()
    late_parcel = fulfillment_services.create_fulfillment(order=late)
    fulfillment_services.ship_fulfillment(
        fulfillment=late_parcel, carrier="cj", tracking_number="1"
    )
    Fulfillment.objects.filter(pk=late_parcel.pk).update(
        shipped_at=timezone.now() - timedelta(days=5)
    )
    returned = place_order()
    deliver_everything(returned)
    item = returned.items.get()
    asked = return_services.request_return(
        order=returned, reason="defective", items=[ReturnLine(order_item=item.pk, quantity=1)]
    )
    approved_order = place_order()
    deliver_everything(approved_order)
    approved = return_services.request_return(
        order=approved_order,
        reason="defective",
        items=[ReturnLine(order_item=approved_order.items.get().pk, quantity=1)],
    )
    return_services.approve_return(request=approved)

    client = as_role("manager")
    response = client.get(HOME)
    found = queues(response)
    assert found["awaiting_payment"].count == 1
    assert found["to_fulfil"].count == 3  # paid, and preparing (a parcel packed, not shipped)
    assert "1 older than 24 h" in found["to_fulfil"].detail
    assert found["packed"].count == 1
    assert found["late_delivery"].count == 1
    assert found["returns_to_decide"].count == 1
    assert found["returns_to_receive"].count == 1
    assert found["exchanges_to_decide"].count == 0

    # Each count is the length of the list its link opens: paid orders (and preparing ones, the
    # packed parcel's order) open the unfulfilled list, where they are shipped from.
    assert found["to_fulfil"].url == reverse("admin:fulfillment_unfulfilled")
    unfulfilled = client.get(found["to_fulfil"].url)
    assert unfulfilled.status_code == 200
    assert [o.order_number for o in unfulfilled.context["orders"]] == [
        stale.order_number,
        fresh.order_number,
        packed.order_number,
    ]
    assert unfulfilled.context["paginator"].count == found["to_fulfil"].count
    awaiting = client.get(found["awaiting_payment"].url)
    assert len(awaiting.context["cl"].result_list) == found["awaiting_payment"].count
    late_list = client.get(found["late_delivery"].url)
    assert [f.pk for f in late_list.context["cl"].result_list] == [late_parcel.pk]
    decide = client.get(found["returns_to_decide"].url)
    assert [r.pk for r in decide.context["cl"].result_list] == [asked.pk]


def test_the_queue_of_orders_to_ship_is_for_who_ships_them(as_role):
    place_order()
    assert "to_fulfil" not in queues(as_role("payments").get(HOME))
    found = queues(as_role("warehouse").get(HOME))
    assert found["to_fulfil"].count == 1
    assert as_role("warehouse").get(found["to_fulfil"].url).status_code == 200


def test_today_counts_orders_and_paid_revenue(as_role):
    place_order(quantities=(1,), price=20000)
    place_order(quantities=(1,), price=5000, paid=False)  # not revenue
    yesterday = place_order(quantities=(1,), price=70000)
    Order.objects.filter(pk=yesterday.pk).update(created_at=timezone.now() - timedelta(days=2))
    response = as_role("manager").get(HOME)
    assert response.context["today_orders"] == 2
    assert response.context["today_revenue"] == "20,000 KRW"
    assert "20,000 KRW" in response.content.decode()


def test_home_issues_a_fixed_number_of_queries(as_role, django_assert_max_num_queries):
    client = as_role("manager")
    for _ in range(5):
        place_order()
    # Queues (one count a table), the month's daily totals (today's figures and two charts),
    # the parcels' and the returns' charts, session, user and permissions.
    with django_assert_max_num_queries(15):
        assert client.get(HOME).status_code == 200


# ---------------------------------------------------------------------------------------------
# Charts over the last 30 days


def charts(response) -> dict:
    return {chart.key: chart for chart in response.context["charts"]}


def bar_values(chart) -> dict:
    return {bar.key: bar.value for bar in chart.bars}


def _age(model, pk, **moments):
    model.objects.filter(pk=pk).update(**moments)


def _shop_month():
    """Orders over three days (one unpaid, one older than the window), parcels shipped a few
    hours and a few days after payment, and two returns."""
    from orders.models import Transaction

    now = timezone.now()
    today = timezone.localdate()
    paid_today = place_order(quantities=(1,), price=20000)
    place_order(quantities=(1,), price=5000, paid=False)  # an order, not revenue
    three_days_ago = place_order(quantities=(1,), price=30000)
    _age(Order, three_days_ago.pk, created_at=now - timedelta(days=3))
    too_old = place_order(quantities=(1,), price=90000)
    _age(Order, too_old.pk, created_at=now - timedelta(days=45))

    quick = fulfillment_services.create_fulfillment(order=paid_today)
    fulfillment_services.ship_fulfillment(fulfillment=quick, carrier="cj", tracking_number="11")
    slow_order = place_order()
    slow = fulfillment_services.create_fulfillment(order=slow_order)
    fulfillment_services.ship_fulfillment(fulfillment=slow, carrier="cj", tracking_number="12")
    Transaction.objects.filter(order=slow_order).update(created_at=now - timedelta(days=4))

    for reason in ("defective", "defective", "wrong_delivery"):
        order = place_order()
        deliver_everything(order)
        return_services.request_return(
            order=order, reason=reason, items=[ReturnLine(order.items.get().pk, 1)]
        )
    return today


def test_home_charts_orders_revenue_lead_time_and_return_reasons(as_role):
    today = _shop_month()
    response = as_role("manager").get(HOME)
    found = charts(response)
    assert list(found) == [
        "orders_per_day",
        "revenue_per_day",
        "payment_to_shipment",
        "returns_by_reason",
    ]
    orders = bar_values(found["orders_per_day"])
    assert len(orders) == 30  # one bar per day, empty days included
    three_days_ago = (today - timedelta(days=3)).isoformat()
    # Today: the two placed directly, the slow one and the three that were returned.
    assert orders[today.isoformat()] == 6
    assert orders[three_days_ago] == 1
    assert sum(orders.values()) == 7  # the 45-day-old order is outside the window
    revenue = bar_values(found["revenue_per_day"])
    assert revenue[three_days_ago] == 30000
    assert revenue[today.isoformat()] == 20000 + 4 * 20000  # the unpaid 5,000 is not revenue
    lead = found["payment_to_shipment"]
    # The quick parcel and the three returned orders' parcels left within a day of payment;
    # the slow one four days after.
    assert [bar.value for bar in lead.bars] == [4, 0, 0, 1, 0]
    reasons = bar_values(found["returns_by_reason"])
    assert reasons["defective"] == 2
    assert reasons["wrong_delivery"] == 1
    assert found["returns_by_reason"].bars[0].key == "defective"  # longest bar first

    page = response.content.decode()
    assert page.count('class="shop-chart"') == 4
    assert 'data-key="defective" data-value="2"' in page
    assert "Time from payment to shipment" in page


def test_the_slow_parcel_falls_in_the_three_to_five_days_bucket(as_role):
    from orders.models import Transaction

    order = place_order()
    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="9")
    Transaction.objects.filter(order=order).update(created_at=timezone.now() - timedelta(hours=80))
    lead = charts(as_role("manager").get(HOME))["payment_to_shipment"]
    assert [bar.value for bar in lead.bars] == [0, 0, 0, 1, 0]
    assert "0% of 1 parcels within 2 days" in lead.total_display


def test_a_user_sees_only_the_charts_of_what_they_may_view(client):
    from django.contrib.auth.models import Permission

    from tests.admin.conftest import make_staff

    user = make_staff("parcels-only")
    user.user_permissions.add(Permission.objects.get(codename="view_fulfillment"))
    client.force_login(user)
    keys = [chart.key for chart in client.get(HOME).context["charts"]]
    assert keys == ["payment_to_shipment"]


@pytest.mark.postgres
def test_home_queries_do_not_grow_with_rows(as_role):
    """The same number of statements with a handful of orders and with many more, spread over
    the month; the charts are aggregates, never one query per row or per day."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = as_role("manager")
    _shop_month()
    client.get(HOME)  # warm the session and the content types
    with CaptureQueriesContext(connection) as few:
        assert client.get(HOME).status_code == 200
    now = timezone.now()
    for day in range(25):
        order = place_order(quantities=(1,), price=1000 + day)
        _age(Order, order.pk, created_at=now - timedelta(days=day))
        parcel = fulfillment_services.create_fulfillment(order=order)
        fulfillment_services.ship_fulfillment(
            fulfillment=parcel, carrier="cj", tracking_number=f"70{day}"
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(HOME)
    assert sum(bar_values(charts(response)["orders_per_day"]).values()) == 7 + 25
    assert len(many) == len(few)
    assert len(many) <= 25


def test_the_index_starts_with_the_daily_work_and_keeps_keys_for_superusers(client, as_role):
    from django.contrib.auth.models import Permission, User

    manager = as_role("manager")
    apps = [app["app_label"] for app in manager.get(HOME).context["app_list"]]
    assert apps[:3] == ["orders", "fulfillment", "returns"]
    # A manager granted the key screens still does not get them on the home screen.
    user = User.objects.get(username="manager")
    user.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    listed = manager.get(HOME).context["app_list"]
    assert "ApiKey" not in {m["object_name"] for app in listed for m in app["models"]}
    assert manager.get(reverse("admin:shop_apikey_changelist")).status_code == 200

    boss = User.objects.create_superuser("boss", "boss@example.com", "pw-boss-123")
    client.force_login(boss)
    listed = client.get(HOME).context["app_list"]
    assert listed[0]["app_label"] == "orders"
    assert listed[-1]["app_label"] == "keys"
    assert {m["object_name"] for m in listed[-1]["models"]} >= {"ApiKey", "TokenProxy"}


@pytest.mark.postgres
def test_home_customer_page_and_unfulfilled_list_queries_are_the_same_at_100000_orders(as_role):
    """The home screen (queues and charts), a customer's page and the unfulfilled list issue
    the same statements on a table of 100 orders and of 100,000 (inserted in bulk, paid,
    spread over the last days)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shop.db import statement_timeout
    from tests.admin.test_order_list_scale import insert_orders
    from tests.factories import CustomerFactory

    client = as_role("manager")
    customer = CustomerFactory()
    for _ in range(3):
        place_order(customer=customer)
    customer_page = reverse("admin:shop_customer_change", args=[customer.pk])

    def statements():
        counted = []
        for url in (HOME, customer_page, reverse("admin:fulfillment_unfulfilled")):
            with CaptureQueriesContext(connection) as captured:
                assert client.get(url).status_code == 200
            counted.append(len(captured))
        return counted

    with statement_timeout(0):  # the bulk insert, not the pages, may take long on a busy machine
        insert_orders(1, 100)
    statements()  # warm the content type cache
    small = statements()
    with statement_timeout(0):
        insert_orders(101, 99_900)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE orders_order SET customer_id = %s WHERE id %% 50 = 0", [customer.pk]
            )
            cursor.execute("ANALYZE orders_order")
    big = statements()
    assert big == small
    assert sum(bar.value for bar in charts(client.get(HOME))["orders_per_day"].bars) >= 100_000
