"""REST collections of the orders app: orders, order items (alias order-products), transactions."""

from orders.models import (
    Order,
    OrderItem,
    OrderStatus,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from shop.api.collections import (
    Choice,
    Collection,
    Group,
    Id,
    Integer,
    Join,
    Relation,
    Text,
    registry,
    timestamps,
)

orders = Collection(
    slug="orders",
    model=Order,
    singular="Order",
    plural="Orders",
    description="Orders, with their items, payments, parcels, returns and exchanges as joins.",
    fields=[
        Id(),
        Text("orderNumber", "order_number"),
        Relation("customer", to="customers", nullable=True),
        Relation("cart", to="carts", nullable=True),
        Group(
            "customerSnapshot",
            [
                Text("name", "customer_name"),
                Text("email", "customer_email"),
                Text("phone", "customer_phone"),
            ],
            description="The customer as they were at order time.",
        ),
        Group(
            "shippingAddress",
            [
                Text("recipientName", "shipping_recipient_name"),
                Text("phone", "shipping_phone"),
                Text("postalCode", "shipping_postal_code"),
                Text("address1", "shipping_address1"),
                Text("address2", "shipping_address2"),
            ],
        ),
        Choice("status", choices=OrderStatus.choices),
        Text("currency"),
        Integer("subtotalAmount", "subtotal_amount"),
        Integer("shippingAmount", "shipping_amount"),
        Integer("discountAmount", "discount_amount"),
        Integer("totalAmount", "total_amount"),
        Text("staffNote", "staff_note"),
        *timestamps(),
    ],
    joins=[
        Join("items", "order-items", fk="order", limit=None, sort="id"),
        Join("transactions", "transactions", fk="order"),
        Join("fulfillments", "fulfillments", fk="order"),
        Join("returns", "returns", fk="order"),
        Join("exchanges", "exchanges", fk="order"),
    ],
)

order_items = Collection(
    slug="order-items",
    aliases=("order-products",),
    model=OrderItem,
    singular="Order item",
    plural="Order items",
    description="Order lines: catalog links plus a snapshot of title, sku and price.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Relation("product", to="products", nullable=True),
        Relation("variant", to="variants", nullable=True),
        Relation("option", to="options", nullable=True),
        Text("title"),
        Text("sku"),
        Integer("unitPrice", "unit_price"),
        Integer("quantity"),
        Integer("totalPrice", "total_price"),
        *timestamps(),
    ],
)

transactions = Collection(
    slug="transactions",
    model=Transaction,
    singular="Transaction",
    plural="Transactions",
    description="Payments and refunds. totalAmount and method are the older names of amount and "
    "paymentMethod, returned and accepted beside them.",
    fields=[
        Id(),
        Relation("order", to="orders"),
        Choice("kind", choices=TransactionKind.choices),
        Choice("status", choices=TransactionStatus.choices),
        Integer("amount"),
        Integer("totalAmount", "amount", description="Older name of amount."),
        Text("paymentMethod", "payment_method"),
        Text("method", "payment_method", description="Older name of paymentMethod."),
        Text("paymentId", "payment_id", nullable=True),
        *timestamps(),
    ],
)

registry.register(orders, order_items, transactions)
