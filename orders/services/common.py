"""What every order service starts from: the order row, locked."""

from orders.models import Order, OrderItem
from shop import stock
from shop.errors import NotFound


def lock_order(order: Order | int) -> Order:
    """The order row, locked for the rest of the transaction (NotFound if there is none)."""
    pk = order.pk if isinstance(order, Order) else order
    try:
        return Order.objects.select_for_update().get(pk=pk)
    except (Order.DoesNotExist, ValueError, TypeError):
        raise NotFound(f"Order {pk} does not exist.", field="order") from None


def item_stock_unit(item: OrderItem) -> tuple[type, int]:
    """The catalog row that holds an order line's stock."""
    return stock.stock_unit(
        product_id=item.product_id, variant_id=item.variant_id, option_id=item.option_id
    )
