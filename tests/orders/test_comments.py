"""Staff comments on an order (``orders.services.comment_on_order``): written by one service that
refuses empty or too long text and then writes nothing; shown in the order's timeline among its
changes, in time order, by who wrote them, in English and in Korean, escaped; posted from the
order page by any staff user who may see the order; the timeline still reads in a bounded
number of queries."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.models import MAX_COMMENT, OrderComment
from orders.selectors import order_timeline
from orders.values import ItemUnits
from shop.actors import SYSTEM, Actor
from shop.errors import NotFound
from tests.helpers import leaves_db_unchanged, place_order

pytestmark = pytest.mark.django_db


def staff(username, group=None, **fields):
    user = User.objects.create_user(username, password="pw-123456789", is_staff=True, **fields)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def kim():
    return staff("kim", "Customer service", first_name="Kim")


def timeline(order, lang="en"):
    with translation.override(lang):
        return [(line.sentence, line.comment) for line in order_timeline(order)]


# -- the service -------------------------------------------------------------------------------


def test_a_comment_is_written_with_its_author_and_trimmed(kim):
    order = place_order()
    comment = order_services.comment_on_order(
        order=order, actor=Actor.staff(kim), body="  Buyer called: leave at the door.\n"
    )
    stored = OrderComment.objects.get()
    assert stored == comment
    assert (stored.order, stored.author, stored.author_label) == (order, kim, "kim")
    assert stored.body == "Buyer called: leave at the door."
    assert stored.created_at is not None


def test_a_comment_of_exactly_the_limit_is_written_its_line_breaks_counted_once(kim):
    # A browser's textarea counts a line break as one character and sends it as two.
    order = place_order()
    body = "가" * (MAX_COMMENT - 2) + "\r\n가"
    order_services.comment_on_order(order=order, actor=Actor.staff(kim), body=body)
    assert OrderComment.objects.get().body == "가" * (MAX_COMMENT - 2) + "\n가"


@pytest.mark.parametrize("body", ["", "   ", "\n\t "])
def test_an_empty_comment_is_refused_and_nothing_is_written(kim, body):
    order = place_order()
    with leaves_db_unchanged(match="the comment is empty") as caught:
        order_services.comment_on_order(order=order, actor=Actor.staff(kim), body=body)
    assert caught.value.field == "body"
    assert not OrderComment.objects.exists()


def test_a_too_long_comment_is_refused_and_nothing_is_written(kim):
    order = place_order()
    with leaves_db_unchanged(match="at most 2,000 characters: this one has 2,001") as caught:
        order_services.comment_on_order(
            order=order, actor=Actor.staff(kim), body="x" * (MAX_COMMENT + 1)
        )
    assert caught.value.field == "body"
    assert not OrderComment.objects.exists()


def test_a_comment_that_is_not_text_or_not_by_staff_is_refused(kim):
    order = place_order()
    with leaves_db_unchanged(match="must be text"):
        order_services.comment_on_order(order=order, actor=Actor.staff(kim), body=None)
    with leaves_db_unchanged(match="Only a staff member"):
        order_services.comment_on_order(order=order, actor=SYSTEM, body="hello")
    with leaves_db_unchanged(NotFound):
        order_services.comment_on_order(order=10**9, actor=Actor.staff(kim), body="hello")


def test_the_database_refuses_a_blank_or_too_long_comment_written_around_the_service(kim):
    from django.db import IntegrityError, transaction

    order = place_order()
    for body in ("  ", "x" * (MAX_COMMENT + 1)):
        with pytest.raises(IntegrityError), transaction.atomic():
            OrderComment.objects.create(order=order, author=kim, body=body)


# -- the timeline ------------------------------------------------------------------------------


def test_comments_sit_among_the_changes_in_time_order_in_english_and_korean(kim):
    payments = staff("lee", "Payments", first_name="Lee")
    order = place_order(paid=False)
    order_services.comment_on_order(order=order, actor=Actor.staff(kim), body="Call before paying")
    order_services.pay_order(order=order, actor=Actor.staff(payments))
    order_services.comment_on_order(order=order, actor=Actor.staff(kim), body="Paid, gift wrap")

    english = timeline(order)
    paid_at = english.index((f"Lee (Payments) marked order {order.order_number} paid", ""))
    first = english.index(("Kim (Customer service) commented:", "Call before paying"))
    last = english.index(("Kim (Customer service) commented:", "Paid, gift wrap"))
    assert first < paid_at < last
    assert last == len(english) - 1

    korean = timeline(order, "ko")
    assert korean[-1] == ("Kim (고객 상담)이(가) 댓글을 남겼습니다:", "Paid, gift wrap")
    line = order_timeline(order)[-1]
    assert line.is_staff_comment and line.entry is None and line.comment_by_staff
    assert line.created_at == OrderComment.objects.latest("id").created_at


def test_a_comment_by_a_deleted_account_keeps_its_name(kim):
    order = place_order()
    order_services.comment_on_order(order=order, actor=Actor.staff(kim), body="Checked stock")
    kim.delete()
    assert timeline(order)[-1] == ("kim commented:", "Checked stock")


def test_comments_add_one_query_to_the_timeline_whatever_their_number(
    django_assert_num_queries, kim
):
    def build(parcels, comments):
        order = place_order(quantities=(1,) * parcels, paid=False)
        order_services.pay_order(order=order, actor=Actor.staff(staff(f"p{parcels}", "Payments")))
        for item in order.items.all():
            parcel = fulfillment_services.create_fulfillment(
                order=order, items=[ItemUnits(item.pk, 1)]
            )
            fulfillment_services.ship_fulfillment(
                fulfillment=parcel, carrier="cj", tracking_number=f"64{item.pk}"
            )
        for number in range(comments):
            author = kim if number % 2 else staff(f"w{parcels}-{number}", "Warehouse")
            order_services.comment_on_order(
                order=order, actor=Actor.staff(author), body=f"note {number}"
            )
        return order

    small, large = build(1, 1), build(4, 6)
    # The log, the comments, everyone's groups (staff of both in one), then one query per
    # kind of row the log names (transactions, parcels): one more than without comments.
    with django_assert_num_queries(5):
        short = order_timeline(small)
    with django_assert_num_queries(5):
        long = order_timeline(large)
    assert len(long) == len(short) + 3 + 5


# -- the order page ----------------------------------------------------------------------------


def change_url(order):
    return reverse("admin:orders_order_change", args=[order.pk])


def comment_url(order):
    return reverse("admin:orders_order_comment", args=[order.pk])


def test_staff_who_see_the_order_post_a_comment_and_read_it_in_the_timeline(client, kim):
    order = place_order()
    client.force_login(kim)
    page = client.get(change_url(order)).content.decode()
    assert f'action="{comment_url(order)}"' in page
    assert 'maxlength="2000"' in page

    response = client.post(comment_url(order), {"body": "<b>Fragile</b>\nsecond line"})
    assert response.status_code == 302
    assert response["Location"] == change_url(order) + "#order-timeline"
    stored = OrderComment.objects.get()
    assert (stored.author, stored.body) == (kim, "<b>Fragile</b>\nsecond line")

    page = client.get(response["Location"]).content.decode()
    assert "Comment added." in page
    timeline_html = page[page.index('id="order-timeline"') :]
    assert "Kim (Customer service) commented:" in timeline_html
    assert "&lt;b&gt;Fragile&lt;/b&gt;<br>second line" in timeline_html  # escaped
    assert "<b>Fragile</b>" not in page


def test_an_empty_comment_posted_says_why_and_writes_nothing(client, kim):
    order = place_order()
    client.force_login(kim)
    response = client.post(comment_url(order), {"body": "   "}, follow=True)
    assert "the comment is empty" in response.content.decode()
    assert not OrderComment.objects.exists()


def test_a_view_only_user_may_comment(client):
    viewer = staff("viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    order = place_order()
    client.force_login(viewer)
    assert client.post(comment_url(order), {"body": "Seen"}).status_code == 302
    assert OrderComment.objects.get().author == viewer


def test_staff_without_view_permission_are_refused_and_nothing_is_written(client):
    order = place_order()
    client.force_login(staff("nobody"))
    assert client.post(comment_url(order), {"body": "Let me in"}).status_code == 403
    assert not OrderComment.objects.exists()


def test_a_non_staff_user_is_sent_to_log_in_and_a_get_is_not_allowed(client, kim):
    order = place_order()
    buyer = User.objects.create_user("buyer", password="pw-123456789")
    client.force_login(buyer)
    response = client.post(comment_url(order), {"body": "Hi"})
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(kim)
    assert client.get(comment_url(order)).status_code == 405
    assert not OrderComment.objects.exists()


def test_the_order_page_reads_in_the_same_number_of_queries_with_more_comments(client, kim):
    client.force_login(kim)

    def queries_for(comments):
        order = place_order()
        for number in range(comments):
            order_services.comment_on_order(
                order=order, actor=Actor.staff(kim), body=f"note {number}"
            )
        client.get(change_url(order))  # warm the caches (content types, sessions)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(change_url(order)).status_code == 200
        return len(queries)

    assert queries_for(5) == queries_for(1)


# -- the API -----------------------------------------------------------------------------------


def test_the_api_lists_an_orders_comments_oldest_first_for_whoever_sees_the_order(client, kim):
    order, other = place_order(), place_order()
    for body in ("first", "second"):
        order_services.comment_on_order(order=order, actor=Actor.staff(kim), body=body)
    order_services.comment_on_order(order=other, actor=Actor.staff(kim), body="elsewhere")

    client.force_login(kim)  # customer service: may view orders
    answer = client.get(f"/api/orders/{order.pk}/comments")
    assert answer.status_code == 200
    docs = answer.json()["docs"]
    assert [(d["order"], d["author"], d["body"]) for d in docs] == [
        (order.pk, "kim", "first"),
        (order.pk, "kim", "second"),
    ]
    assert answer.json()["totalDocs"] == 2
    assert client.get("/api/orders/999999/comments").status_code == 404

    client.force_login(staff("nobody"))
    assert client.get(f"/api/orders/{order.pk}/comments").status_code == 403
