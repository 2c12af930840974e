"""Creating, checking out, paying, failing, retrying, canceling and confirming orders."""

import re

import pytest

from fulfillment import services as fulfillment_services
from fulfillment.models import FulfillmentStatus
from orders import services
from orders.models import Order, OrderStatus, TransactionStatus
from orders.selectors import order_money
from orders.values import CustomerSnapshot, ItemUnits, OrderDraft, OrderLine
from shop.actors import Actor
from shop.errors import Conflict, DomainError, NotFound, TransitionError
from tests.factories import (
    CartFactory,
    CartItemFactory,
    CustomerFactory,
    OptionFactory,
    ProductFactory,
    VariantFactory,
)
from tests.helpers import (
    ADDRESS_VALUE,
    PARCEL_VALUES,
    assert_consistent,
    deliver_everything,
    leaves_db_unchanged,
    log_of,
    place_order,
    ship,
    status_of,
)

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------------------------
# create_order


def test_create_order_computes_totals_and_snapshots_lines():
    shirt = ProductFactory(title="Shirt", price=30000, sku="SHIRT")
    size = VariantFactory(product=shirt, title="M", sku="SHIRT-M", price=32000)
    colour = OptionFactory(variant=size, title="Navy", sku="SHIRT-M-NVY")
    mug = ProductFactory(title="Mug", price=9000, sku="MUG")
    result = services.create_order(
        draft=OrderDraft(
            lines=[
                OrderLine(product=shirt.pk, variant=size.pk, option=colour.pk, quantity=2),
                OrderLine(product=mug.pk, quantity=3, unit_price=8000),
            ],
            shipping_amount=3000,
            discount_amount=1000,
            total_amount=2 * 32000 + 3 * 8000 + 3000 - 1000,
            shipping_address=ADDRESS_VALUE,
            customer_snapshot=CustomerSnapshot(name="Guest", email="guest@example.com"),
        )
    )
    order = result.order
    assert result.created
    assert order.status == OrderStatus.PENDING
    assert (order.subtotal_amount, order.total_amount) == (88000, 90000)
    assert order.currency == "KRW"
    assert order.customer is None
    assert order.customer_snapshot == CustomerSnapshot("Guest", "guest@example.com", "")
    assert order.shipping_address == ADDRESS_VALUE
    lines = list(order.items.order_by("pk"))
    assert [(i.title, i.sku, i.unit_price, i.quantity, i.total_price) for i in lines] == [
        ("Shirt / M / Navy", "SHIRT-M-NVY", 32000, 2, 64000),
        ("Mug", "MUG", 8000, 3, 24000),
    ]
    assert not order.transactions.exists()


def test_create_order_with_a_payment_id_is_paid_and_the_same_id_returns_it():
    product = ProductFactory(price=5000)
    items = [OrderLine(product=product.pk, quantity=2, unit_price=5000)]
    first = services.create_order(
        draft=OrderDraft(lines=items, payment_id="pay_1", payment_method="card", **PARCEL_VALUES)
    )
    assert first.created and first.order.status == OrderStatus.PAID
    payment = first.order.transactions.get()
    assert (payment.kind, payment.status, payment.amount) == ("payment", "paid", 10000)
    again = services.create_order(
        draft=OrderDraft(lines=items, payment_id=" pay_1 ", **PARCEL_VALUES)
    )
    assert not again.created and again.order == first.order
    assert Order.objects.count() == 1


def test_a_free_order_is_paid_at_once():
    product = ProductFactory(price=0)
    order = services.create_order(
        draft=OrderDraft(lines=[OrderLine(product=product.pk)], **PARCEL_VALUES)
    ).order
    assert order.status == OrderStatus.PAID
    assert log_of(order).get().reason == "nothing to pay"


def test_customer_fills_the_snapshot_where_it_is_not_given():
    customer = CustomerFactory(name="Kim", email="kim@example.com", phone="010-1")
    order = place_order(customer=customer.pk)
    assert order.customer == customer
    assert order.customer_snapshot == CustomerSnapshot("Kim", "kim@example.com", "010-1")
    order = place_order(customer=customer)
    assert order.customer_email == "kim@example.com"


def test_generated_order_numbers_are_unique_and_sort_by_time():
    numbers = [place_order().order_number for _ in range(3)]
    assert all(re.fullmatch(r"\d{6}-\d{8}", n) for n in numbers)
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


def test_a_taken_order_number_is_a_conflict():
    place_order(order_number="A-1")
    product = ProductFactory()
    with leaves_db_unchanged(Conflict, match="A-1"):
        services.create_order(
            draft=OrderDraft(
                lines=[OrderLine(product=product.pk)], order_number="A-1", **PARCEL_VALUES
            )
        )


def test_prices_from_the_catalog_ignore_client_prices():
    product = ProductFactory(price=7000)
    variant = VariantFactory(product=product, price=None)
    order = services.create_order(
        prices_from_catalog=True,
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, variant=variant.pk, unit_price=1)], **PARCEL_VALUES
        ),
    ).order
    assert order.items.get().unit_price == 7000


# ---------------------------------------------------------------------------------------------
# checkout_cart


def test_checkout_turns_a_cart_into_an_order_once():
    cart = CartFactory()
    a = CartItemFactory(cart=cart, product=ProductFactory(price=12000), quantity=2)
    CartItemFactory(cart=cart, product=ProductFactory(price=3000), quantity=1)
    result = services.checkout_cart(
        cart=cart.pk, draft=OrderDraft(payment_id="pay_cart", total_amount=27000)
    )
    order = result.order
    assert result.created and order.status == OrderStatus.PAID
    assert order.cart == cart and order.customer == cart.customer
    assert order.customer_email == cart.customer.email
    assert order.total_amount == 27000
    assert order.items.get(product=a.product).unit_price == 12000
    cart.refresh_from_db()
    assert cart.checked_out_at is not None
    again = services.checkout_cart(cart=str(cart.pk))
    assert not again.created and again.order == order
    assert Order.objects.count() == 1


def test_checkout_of_an_unknown_or_empty_cart_is_refused():
    with leaves_db_unchanged(NotFound, match="Cart 999999"):
        services.checkout_cart(cart=999999)
    empty = CartFactory()
    with leaves_db_unchanged(DomainError, match="empty"):
        services.checkout_cart(cart=empty.pk)
    with leaves_db_unchanged(DomainError, match="cartId"):
        services.checkout_cart(cart=None)


def test_checkout_with_a_payment_id_of_another_order_is_a_conflict():
    other = place_order()
    payment_id = other.transactions.get().payment_id
    item = CartItemFactory()
    with leaves_db_unchanged(Conflict, match=payment_id):
        services.checkout_cart(cart=item.cart_id, draft=OrderDraft(payment_id=payment_id))


# ---------------------------------------------------------------------------------------------
# Payments


def test_partial_payments_pay_the_order_once_they_cover_the_total():
    order = place_order(quantities=(3,), paid=False)
    first = services.record_payment(order=order, amount=10000, payment_id="p1")
    assert status_of(order) == OrderStatus.PENDING
    assert services.record_payment(order=order.pk, payment_id="p1") == first
    services.record_payment(order=order, amount=20000, payment_id="p2", payment_method="card")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order_money(order).paid == 30000
    assert_consistent(order)


def test_a_payment_over_the_amount_due_is_refused():
    order = place_order(paid=False)
    with leaves_db_unchanged(DomainError, match="between 1 and 20000"):
        services.record_payment(order=order, amount=20001)


def test_a_payment_id_of_another_order_is_a_conflict():
    other = place_order()
    order = place_order(paid=False)
    with leaves_db_unchanged(Conflict, match="another order"):
        services.record_payment(order=order, payment_id=other.transactions.get().payment_id)


def test_failed_payment_then_retry_then_pay():
    order = place_order(paid=False)
    failed = services.fail_payment(order=order, reason="card declined", payment_id="f1")
    assert (failed.status, status_of(order)) == (TransactionStatus.FAILED, OrderStatus.FAILED)
    services.retry_order(order=order, reason="buyer retries")
    assert status_of(order) == OrderStatus.PENDING
    services.fail_payment(order=order)
    # A payment on a failed order retries it first.
    services.record_payment(order=order, payment_id="ok")
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    moves = [(log.source, log.target) for log in log_of(order)]
    assert moves == [
        ("pending", "paid"),
        ("failed", "pending"),
        ("pending", "failed"),
        ("failed", "pending"),
        ("pending", "failed"),
    ]
    assert_consistent(order)


def test_pay_order_records_a_manual_payment_by_staff(django_user_model):
    staff = django_user_model.objects.create_user("clerk")
    order = place_order(paid=False)
    order = services.pay_order(order=order, actor=Actor.staff(staff), reason="bank transfer")
    assert order.status == OrderStatus.PAID
    payment = order.transactions.get()
    assert payment.payment_method == "manual" and payment.amount == order.total_amount
    log = log_of(order).get()
    assert (log.actor_user, log.reason) == (staff, "bank transfer")


@pytest.mark.parametrize("service", ["record_payment", "fail_payment", "retry_order", "pay_order"])
def test_payment_services_refuse_a_paid_order(service):
    order = place_order()
    with leaves_db_unchanged(TransitionError) as caught:
        getattr(services, service)(order=order)
    assert caught.value.current == OrderStatus.PAID


# ---------------------------------------------------------------------------------------------
# Cancel and confirm


@pytest.mark.parametrize("stage", ["pending", "failed", "paid", "preparing", "packed"])
def test_cancel_voids_payments_releases_stock_and_calls_off_parcels(stage):
    product = ProductFactory(price=1000, stock=5)
    order = place_order(quantities=(2,), products=[product], paid=stage != "pending")
    if stage == "pending":
        services.record_payment(order=order, amount=500)
    if stage == "failed":
        order = place_order(quantities=(2,), products=[product], paid=False)
        services.fail_payment(order=order)
    if stage in ("preparing", "packed"):
        parcel = fulfillment_services.create_fulfillment(order=order)
        if stage == "packed":
            fulfillment_services.pack_fulfillment(fulfillment=parcel)
    product.refresh_from_db()
    reserved = product.stock
    services.cancel_order(order=order, reason="changed mind")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELED
    product.refresh_from_db()
    assert product.stock == reserved + 2
    assert not order.transactions.filter(status=TransactionStatus.PAID).exists()
    assert all(f.status == FulfillmentStatus.FAILED for f in order.fulfillments.all())
    assert log_of(order).first().reason == "changed mind"
    assert_consistent(order)


def test_cancel_is_refused_once_a_parcel_has_shipped():
    order = place_order(quantities=(2,))
    parcel = fulfillment_services.create_fulfillment(
        order=order, items=[ItemUnits(order_item=order.items.get().pk, quantity=1)]
    )
    ship(parcel)
    with leaves_db_unchanged(Conflict, match="shipped parcels"):
        services.cancel_order(order=order)


@pytest.mark.parametrize("stage", ["canceled", "delivered"])
def test_cancel_is_refused_after_cancel_or_delivery(stage):
    order = place_order()
    if stage == "canceled":
        services.cancel_order(order=order)
    else:
        deliver_everything(order)
    with leaves_db_unchanged(DomainError):
        services.cancel_order(order=order)


def test_confirm_a_delivered_order_only():
    order = place_order()
    with leaves_db_unchanged(TransitionError):
        services.confirm_order(order=order)
    deliver_everything(order)
    services.confirm_order(order=order, reason="buyer confirmed")
    assert status_of(order) == OrderStatus.CONFIRMED
    with leaves_db_unchanged(TransitionError):
        services.confirm_order(order=order)


def test_unknown_orders_are_not_found():
    with leaves_db_unchanged(NotFound):
        services.cancel_order(order=987654)
    with leaves_db_unchanged(NotFound):
        services.record_payment(order="abc")
