"""The small services the API needed besides the existing ones: order details, tracking
corrections and cart lines. (Their API use is tested in test_writes.py.)"""

import pytest

from fulfillment import services as fulfillment_services
from orders import services as order_services
from orders.values import ItemUnits
from shop import services as cart_services
from shop.api.catalog import shipping_address
from shop.errors import Conflict, DomainError
from shop.values import Address
from tests.api.shop_data import cart_with_options, delivered_order, paid_order
from tests.factories import OptionFactory

pytestmark = pytest.mark.django_db


def test_update_order_details_changes_only_the_given_address_keys():
    order = paid_order()
    order_services.update_order_details(order=order, shipping_address=Address(address2="12F"))
    order.refresh_from_db(fields=["shipping_address1", "shipping_address2"])
    assert (order.shipping_address1, order.shipping_address2) == ("123 Main St", "12F")
    with pytest.raises(DomainError, match="unknown fields"):  # as the API maps what it receives
        order_services.update_order_details(
            order=order, shipping_address=shipping_address({"city": "Seoul"})
        )


def test_the_address_is_locked_once_a_parcel_has_shipped():
    order = paid_order(quantities=(1, 1))
    parcel = fulfillment_services.create_fulfillment(
        order=order, items=[ItemUnits(order_item=order.items.first().pk)]
    )
    fulfillment_services.ship_fulfillment(fulfillment=parcel, tracking_number="1")
    with pytest.raises(DomainError, match="can no longer change"):
        order_services.update_order_details(order=order, shipping_address=Address(postal_code="1"))
    order_services.update_order_details(order=order, staff_note="still fine")


def test_update_tracking_keeps_a_shipped_parcels_number_and_freezes_a_delivered_one():
    order = delivered_order()
    parcel = order.fulfillments.get()
    with pytest.raises(DomainError, match="delivered"):
        fulfillment_services.update_tracking(fulfillment=parcel, tracking_number="2")
    fulfillment_services.update_tracking(fulfillment=parcel, note="left at the door")
    parcel.refresh_from_db(fields=["note"])
    assert parcel.note == "left at the door"
    other = paid_order()
    shipped = fulfillment_services.create_fulfillment(order=other)
    fulfillment_services.ship_fulfillment(fulfillment=shipped, tracking_number="7")
    with pytest.raises(DomainError, match="keeps a tracking number"):
        fulfillment_services.update_tracking(fulfillment=shipped, tracking_number=" ")


def test_cart_lines_stop_changing_at_checkout():
    cart = cart_with_options(quantities=(1,))
    line = cart.items.get()
    cart_services.change_cart_item(item=line, quantity=4)
    line.refresh_from_db()
    assert line.quantity == 4
    order_services.checkout_cart(cart=cart.pk)
    with pytest.raises(Conflict):
        cart_services.change_cart_item(item=line, quantity=1)
    with pytest.raises(Conflict):
        cart_services.remove_cart_item(item=line)
    option = OptionFactory()
    with pytest.raises(Conflict):
        cart_services.add_cart_item(cart=cart, product=option.variant.product_id)


def test_an_option_must_belong_to_the_lines_variant():
    cart = cart_with_options(quantities=(1,))
    option, stranger = OptionFactory(), OptionFactory()
    with pytest.raises(DomainError, match="is not an option of"):
        cart_services.add_cart_item(
            cart=cart,
            product=option.variant.product_id,
            variant=option.variant_id,
            option=stranger.pk,
        )
    with pytest.raises(DomainError, match="at least 1"):
        cart_services.add_cart_item(
            cart=cart,
            product=option.variant.product_id,
            variant=option.variant_id,
            option=option.pk,
            quantity=0,
        )
