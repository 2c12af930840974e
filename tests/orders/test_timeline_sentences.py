"""The order's timeline in sentences (``orders.selectors.order_timeline``): who did it, in which
role, what, to which payment, parcel or return by number, amounts as money; in English and in
Korean; in a bounded number of queries."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import translation

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.models import Transaction, TransactionKind
from orders.selectors import order_timeline
from orders.values import ItemUnits
from shop.actors import SYSTEM, Actor
from tests.factories import CustomerFactory
from tests.helpers import place_order

pytestmark = pytest.mark.django_db


def staff(username, group=None, **fields):
    user = User.objects.create_user(username, is_staff=True, **fields)
    if group:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def sentences(order, lang="en"):
    with translation.override(lang):
        return [line.sentence for line in order_timeline(order)]


def line_of(order, transition, lang="en", kind=None):
    with translation.override(lang):
        lines = order_timeline(order)
    return next(
        line
        for line in lines
        if line.entry.transition == transition
        and (kind is None or line.entry.content_type.model == kind)
    )


@pytest.fixture
def kim():
    return staff("kim", "Payments", first_name="Kim")


def test_marked_paid_by_a_named_staff_member_in_english_and_korean(kim):
    order = place_order(quantities=(2,), price=130000, paid=False)
    order_services.pay_order(
        order=order, actor=Actor.staff(kim), method="bank_transfer", reference="김민지"
    )
    line = line_of(order, "mark_paid", "en")
    assert line.sentence == "Kim (Payments) marked the payment of 260,000 KRW paid"
    assert line.actor == "Kim (Payments)"
    assert line.details == ["Bank transfer", "reference 김민지"]
    assert f"Kim (Payments) marked order {order.order_number} paid" in sentences(order)

    korean = line_of(order, "mark_paid", "ko")
    assert korean.sentence == "Kim (결제)이(가) 260,000 KRW 결제를 결제 완료로 처리했습니다"
    assert korean.details == ["계좌 이체", "참조 김민지"]
    assert (
        f"Kim (결제)이(가) 주문 {order.order_number}을(를) 결제 완료로 처리했습니다"
        in sentences(order, "ko")
    )


def test_the_system_ships_a_parcel_with_its_carrier_by_name_and_the_order_follows():
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.ship_fulfillment(
        fulfillment=parcel, carrier="cj", tracking_number="123456", actor=SYSTEM
    )
    assert f"System shipped parcel {parcel.pk} with CJ Logistics 123456" in sentences(order)
    assert f"System packed parcel {parcel.pk}" not in sentences(order)
    followed = line_of(order, "ship", kind="order")
    assert followed.sentence == f"System marked order {order.order_number} shipped"
    assert (followed.comment, followed.comment_by_staff) == ("every unit shipped", False)

    korean = line_of(order, "ship", "ko", kind="fulfillment")
    assert korean.sentence.startswith(f"시스템이(가) 출고 {parcel.pk}을(를) ")
    assert korean.sentence.endswith(" 123456(으)로 발송했습니다")
    assert line_of(order, "ship", "ko", kind="order").comment == "모든 수량 발송"


def test_a_reason_staff_typed_is_their_comment():
    agent = staff("lee", "Customer service", first_name="Junho", last_name="Lee")
    order = place_order(paid=False)
    order_services.cancel_order(order=order, actor=Actor.staff(agent), reason="Buyer called")
    line = line_of(order, "cancel")
    assert line.sentence == f"Junho Lee (Customer service) canceled order {order.order_number}"
    assert (line.comment, line.comment_by_staff) == ("Buyer called", True)
    with translation.override("ko"):
        assert line_of(order, "cancel", "ko").sentence == (
            f"Junho Lee (고객 상담)이(가) 주문 {order.order_number}을(를) 취소했습니다"
        )


def test_a_tracking_correction_names_the_parcel_and_says_what_changed():
    warehouse = staff("park", "Warehouse")
    order = place_order(quantities=(1,))
    parcel = fulfillment_services.create_fulfillment(order=order)
    fulfillment_services.ship_fulfillment(fulfillment=parcel, carrier="cj", tracking_number="111")
    fulfillment_services.update_tracking(
        fulfillment=parcel, actor=Actor.staff(warehouse), tracking_number="222", reason="typo"
    )
    line = line_of(order, "correct_tracking")
    assert line.sentence == (
        f"park (Warehouse) corrected the tracking of parcel {parcel.pk} to CJ Logistics 222"
    )
    assert line.details == ["Tracking number: 111 → 222"]
    assert line.comment == "typo"


def test_a_refund_and_a_return_by_number():
    from returns import services as return_services
    from returns.values import ReturnLine
    from tests.helpers import deliver_everything

    order = place_order(quantities=(1,), price=30000)
    deliver_everything(order)
    request = return_services.request_return(
        order=order, reason="defective", items=[ReturnLine(order.items.get().pk, 1)]
    )
    return_services.approve_return(request=request)
    return_services.receive_return(request=request)
    return_services.complete_return(request=request)
    said = sentences(order)
    assert f"System approved return {request.pk}" in said
    assert f"System received the parcel of return {request.pk}" in said
    assert f"System completed return {request.pk}" in said
    assert "System refunded 30,000 KRW" in said
    assert line_of(order, "request_return").comment == f"return {request.pk} requested"
    assert line_of(order, "request_return", "ko").comment == f"반품 {request.pk} 요청"
    assert f"시스템이(가) 반품 {request.pk}을(를) 승인했습니다" in sentences(order, "ko")
    assert "시스템이(가) 30,000 KRW을(를) 환불했습니다" in sentences(order, "ko")


def test_other_actors_by_name_and_kind():
    admin = User.objects.create_superuser("root", "root@example.com", "pw")
    customer = CustomerFactory(email="minji@example.com")
    order = place_order(paid=False)
    order_services.fail_payment(order=order, actor=Actor.api_key("Storefront"), reason="")
    order_services.retry_order(order=order, actor=Actor.customer(customer), reason="")
    order_services.cancel_order(order=order, actor=Actor.staff(admin), reason="")
    number = order.order_number
    assert sentences(order) == [
        "Storefront (API key) marked the payment of 20,000 KRW failed",
        f"Storefront (API key) marked the payment of order {number} failed",
        f"minji@example.com (customer) set order {number} to wait for payment again",
        f"root (Administrator) canceled order {number}",
    ]
    assert sentences(order, "ko")[1] == (
        f"Storefront (API 키)이(가) 주문 {number}의 결제를 실패로 처리했습니다"
    )


def test_a_move_without_a_phrase_of_its_own_says_the_state_reached(kim):
    order = place_order(paid=False)
    order_services.pay_order(order=order, actor=Actor.staff(kim))
    entry = line_of(order, "pay").entry
    entry.transition = "some_future_move"
    entry.save()
    assert f"Kim (Payments) moved order {order.order_number} to Paid" in sentences(order)
    payment = Transaction.objects.get(order=order, kind=TransactionKind.PAYMENT)
    assert payment.amount == 20000


def test_the_timeline_reads_in_a_bounded_number_of_queries(django_assert_num_queries, kim):
    def build(parcels):
        order = place_order(quantities=(1,) * parcels, paid=False)
        order_services.pay_order(order=order, actor=Actor.staff(kim))
        for item in order.items.all():
            parcel = fulfillment_services.create_fulfillment(
                order=order, items=[ItemUnits(item.pk, 1)]
            )
            fulfillment_services.ship_fulfillment(
                fulfillment=parcel, carrier="cj", tracking_number=f"64{item.pk}"
            )
        return order

    small, large = build(1), build(4)
    # The log with its actors, the staff comments with theirs, everyone's groups, then one
    # query per kind of row it names (transactions, parcels): the same for a long timeline as
    # for a short one.
    with django_assert_num_queries(5):
        short = order_timeline(small)
    with django_assert_num_queries(5):
        long = order_timeline(large)
    assert len(long) == len(short) + 3  # three more parcels shipped
