"""Stock: orders reserve the sellable unit they name (the option, else the variant, else the
product), which holds the stock; cancels and returns give it back."""

from dataclasses import replace

import pytest

from orders import services as order_services
from orders.values import OrderDraft, OrderLine
from returns import services as return_services
from returns.values import Restock
from shop import stock
from shop.errors import DomainError
from shop.models import Product
from tests.factories import OptionFactory, ProductFactory, VariantFactory
from tests.helpers import PARCEL_VALUES, all_units, deliver_everything, leaves_db_unchanged

pytestmark = pytest.mark.django_db


def stocks(*items):
    for item in items:
        item.refresh_from_db()
    return tuple(item.stock for item in items)


def create_order(draft: OrderDraft):
    return order_services.create_order(draft=replace(draft, **PARCEL_VALUES))


def test_the_unit_a_line_names_holds_the_stock():
    product = ProductFactory(stock=10)
    variant = VariantFactory(product=product, stock=10)
    option = OptionFactory(variant=variant, stock=10)
    plain_variant = VariantFactory(product=product, stock=10)  # no options
    create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, variant=variant.pk, option=option.pk, quantity=3)]
        )
    )
    assert stocks(product, variant, option) == (10, 10, 7)
    create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, variant=plain_variant.pk, quantity=2)]
        )
    )
    assert stocks(product, variant, option, plain_variant) == (10, 10, 7, 8)
    plain = ProductFactory(stock=10)  # no variants
    create_order(draft=OrderDraft(lines=[OrderLine(product=plain.pk, quantity=4)]))
    assert stocks(plain) == (6,)


def test_a_line_that_does_not_name_the_unit_holding_the_stock_is_refused():
    """Else the warehouse cannot tell what to ship, and the option's stock is oversold."""
    product = ProductFactory(stock=None)
    variant = VariantFactory(product=product, stock=None)
    option = OptionFactory(variant=variant, stock=29)
    with leaves_db_unchanged(DomainError, match="comes in variants") as caught:
        create_order(draft=OrderDraft(lines=[OrderLine(product=product.pk, quantity=129)]))
    assert caught.value.field == "variant"
    with leaves_db_unchanged(DomainError, match="comes in options") as caught:
        create_order(
            draft=OrderDraft(
                lines=[OrderLine(product=product.pk, variant=variant.pk, quantity=129)]
            )
        )
    assert caught.value.field == "option"
    assert stocks(option) == (29,)


def test_an_untracked_item_is_never_refused():
    product = ProductFactory(stock=None)
    create_order(draft=OrderDraft(lines=[OrderLine(product=product.pk, quantity=1000)]))
    assert stocks(product) == (None,)


def test_an_order_for_more_than_is_in_stock_is_refused_naming_the_item():
    product = ProductFactory(title="Mug", sku="MUG-1", stock=2)
    other = ProductFactory(stock=5)
    items = [OrderLine(product=other.pk, quantity=1), OrderLine(product=product.pk, quantity=3)]
    with leaves_db_unchanged(DomainError, match=r"Mug \(MUG-1\): 2 left, 3 asked for") as caught:
        create_order(draft=OrderDraft(lines=items))
    assert caught.value.field == "quantity"
    assert stocks(product, other) == (2, 5)


def test_two_lines_for_the_same_item_add_up():
    product = ProductFactory(stock=3)
    items = [OrderLine(product=product.pk, quantity=2), OrderLine(product=product.pk, quantity=2)]
    with leaves_db_unchanged(DomainError, match="3 left, 4 asked for"):
        create_order(draft=OrderDraft(lines=items))
    create_order(draft=OrderDraft(lines=items[:1]))
    assert stocks(product) == (1,)


def test_the_last_unit_can_be_sold_and_then_no_more():
    product = ProductFactory(stock=1)
    create_order(draft=OrderDraft(lines=[OrderLine(product=product.pk)]))
    assert stocks(product) == (0,)
    with leaves_db_unchanged(DomainError, match="0 left"):
        create_order(draft=OrderDraft(lines=[OrderLine(product=product.pk)]))


def test_cancel_gives_the_stock_back():
    option = OptionFactory(stock=4)
    placed = create_order(
        draft=OrderDraft(
            lines=[
                OrderLine(
                    product=option.variant.product_id, variant=option.variant_id, option=option.pk
                )
            ]
            * 2
        )
    ).order
    assert stocks(option) == (2,)
    order_services.cancel_order(order=placed)
    assert stocks(option) == (4,)


def test_a_completed_return_restocks_only_what_is_fit_to_sell():
    product = ProductFactory(stock=10)
    placed = create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=product.pk, quantity=4)], payment_id="stock-return"
        )
    ).order
    deliver_everything(placed)
    request = return_services.request_return(
        order=placed, reason="damaged", items=all_units(placed)
    )
    return_services.approve_return(request=request)
    return_services.receive_return(request=request, restock=Restock({placed.items.get().pk: 1}))
    assert stocks(product) == (6,)  # nothing back before completion
    return_services.complete_return(request=request)
    assert stocks(product) == (7,)


def test_change_takes_and_gives_in_one_pass():
    a = ProductFactory(stock=1)
    b = ProductFactory(stock=0)
    stock.change(take=[((Product, a.pk), 1)], give=[((Product, b.pk), 2)])
    assert stocks(a, b) == (0, 2)
    # taking and giving the same item nets out before the check
    stock.change(take=[((Product, a.pk), 2)], give=[((Product, a.pk), 2)])
    assert stocks(a) == (0,)
    with pytest.raises(DomainError):
        stock.reserve([((Product, b.pk), 3)])
    with pytest.raises(ValueError, match="negative"):
        stock.release([((Product, b.pk), -1)])
    assert stocks(b) == (2,)
