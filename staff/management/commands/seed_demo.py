"""A realistic demo shop: customers, a catalog with variants and options, orders in every state,
and a month of past orders (delivered, some returned) so the home screen's charts have a shape.

Idempotent: catalog rows and customers are found by their natural keys, demo orders by their
numbers (DEMO-…), so a second run adds nothing. A database that holds real orders (any not
numbered DEMO-…) is refused unless --force says to load the demo shop into it anyway.
"""

import random
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test.utils import override_settings

from fulfillment import services as fulfillment_services
from fulfillment.models import Fulfillment
from orders import services as order_services
from orders.models import Order, Transaction, TransitionLog
from orders.values import ItemUnits, OrderDraft, OrderLine
from returns import services as return_services
from returns.models import Exchange, Return
from returns.values import ReturnLine
from shop.models import Cart, CartItem, Customer, Option, Product, Variant
from shop.values import Address

CUSTOMERS = [
    ("Kim Minji", "minji.kim@example.com", "010-2345-6789"),
    ("Lee Junho", "junho.lee@example.com", "010-3456-7890"),
    ("Park Seoyeon", "seoyeon.park@example.com", "010-4567-8901"),
    ("Choi Hyunwoo", "hyunwoo.choi@example.com", "010-5678-9012"),
    ("Jung Yuna", "yuna.jung@example.com", "010-6789-0123"),
    ("Alex Morgan", "alex.morgan@example.com", "+1-415-555-0134"),
]

CATALOG = [
    # title, sku, price, [(variant title, sku, [(option title, sku, stock)])]
    (
        "Linen Shirt",
        "LINEN-SHIRT",
        59000,
        [
            ("S", "LINEN-S", [("White", "LINEN-S-WHT", 40), ("Navy", "LINEN-S-NVY", 25)]),
            ("M", "LINEN-M", [("White", "LINEN-M-WHT", 60), ("Navy", "LINEN-M-NVY", 30)]),
            ("L", "LINEN-L", [("White", "LINEN-L-WHT", 35), ("Navy", "LINEN-L-NVY", 20)]),
        ],
    ),
    (
        "Everyday Sneakers",
        "SNEAKER",
        89000,
        [
            ("250", "SNK-250", [("Grey", "SNK-250-GRY", 12)]),
            ("260", "SNK-260", [("Grey", "SNK-260-GRY", 18)]),
            ("270", "SNK-270", [("Grey", "SNK-270-GRY", 15)]),
        ],
    ),
    ("Ceramic Mug", "MUG-CER", 18000, []),
    ("Hand Cream 50ml", "HAND-50", 12000, []),
    ("Canvas Tote", "TOTE-CNV", 25000, [("Natural", "TOTE-NAT", []), ("Black", "TOTE-BLK", [])]),
]

ADDRESSES = [
    ("06123", "123 Teheran-ro, Gangnam-gu, Seoul", "Apt 4B"),
    ("04524", "55 Sejong-daero, Jung-gu, Seoul", "12F"),
    ("48058", "30 Haeundae-ro, Busan", ""),
    ("94105", "500 Howard St, San Francisco, CA", "Suite 300"),
]

DEMO_PREFIX = "DEMO-"

# (order number suffix, final state)
STORIES = [
    ("0001", "pending"),
    ("0002", "failed"),
    ("0003", "canceled"),
    ("0004", "paid"),
    ("0005", "paid"),
    ("0006", "preparing"),
    ("0007", "packed"),
    ("0008", "shipped"),
    ("0009", "partly_shipped"),
    ("0010", "delivered"),
    ("0011", "delivered"),
    ("0012", "confirmed"),
    ("0013", "return_requested"),
    ("0014", "return_processing"),
    ("0015", "returned"),
    ("0016", "exchange_requested"),
    ("0017", "exchange_shipped"),
    ("0018", "checkout"),
    ("0019", "lost_parcel"),
    ("0020", "return_approved"),
    ("0021", "return_rejected"),
    ("0022", "exchange_approved"),
    ("0023", "exchange_rejected"),
    ("0024", "exchange_processing"),
]


# Days before today each story's order was placed: early stages are recent, later ones older.
STORY_AGES = {
    "pending": 0,
    "failed": 1,
    "canceled": 4,
    "paid": 0,
    "preparing": 1,
    "packed": 2,
    "shipped": 3,
    "partly_shipped": 2,
    "delivered": 6,
    "confirmed": 14,
    "return_requested": 10,
    "return_processing": 12,
    "returned": 18,
    "exchange_requested": 8,
    "exchange_shipped": 16,
    "checkout": 0,
    "lost_parcel": 11,
    "return_approved": 9,
    "return_rejected": 13,
    "exchange_approved": 7,
    "exchange_rejected": 12,
    "exchange_processing": 11,
}
# Past orders, numbered DEMO-1001…: placed over the last month, delivered and confirmed, a few
# returned; their parcels left a few hours to a few days after payment.
HISTORY = 40
HISTORY_PREFIX = f"{DEMO_PREFIX}1"
HISTORY_RETURNS = ["defective", "change_of_mind", "wrong_delivery", "damaged", "defective"]


class Command(BaseCommand):
    help = (
        "Load a demo shop (customers, catalog, orders in every state). Safe to run twice. "
        "Refuses a database that holds real orders unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database has orders."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Load the demo shop even into a database that holds real (non-demo) orders.",
        )
        parser.add_argument(
            "--history",
            type=int,
            default=HISTORY,
            help=f"Past orders behind the home screen's charts (default {HISTORY}).",
        )

    def handle(self, *args, if_empty: bool = False, force: bool = False, **options):
        # The demo's stories are recorded as events like any change, but its made-up customers
        # get no emails.
        with override_settings(SHOP_CUSTOMER_EMAILS=False):
            self._seed(if_empty, force, options.get("history", HISTORY))

    def _seed(self, if_empty: bool, force: bool, history: int) -> None:
        if history < 0:
            raise CommandError(f"--history is a number of past orders, 0 or more (not {history}).")
        if if_empty and Order.objects.exists():
            self.stdout.write("Orders exist already: demo data not loaded.")
            return
        if not force and Order.objects.exclude(order_number__startswith=DEMO_PREFIX).exists():
            raise CommandError(
                f"This database holds real orders (numbers not starting {DEMO_PREFIX}): demo data "
                "not loaded. Pass --force to load it anyway."
            )
        rng = random.Random(2026)
        with transaction.atomic():
            customers = self._customers()
            sellables = self._catalog()
        made = 0
        for suffix, story in STORIES:
            number = f"{DEMO_PREFIX}{suffix}"
            if Order.objects.filter(order_number=number).exists():
                continue
            customer = customers[int(suffix) % len(customers)]
            with transaction.atomic():
                self._tell(story, number, customer, rng, sellables)
                self._back_date(number, days=STORY_AGES.get(story, 0), rng=rng)
            made += 1
        past = self._history(customers, rng, sellables, history)
        self.stdout.write(
            f"Demo shop ready: {len(customers)} customers, {Product.objects.count()} products, "
            f"{made} new demo orders, {past} past orders."
        )

    def _history(self, customers, rng, sellables, history: int) -> int:
        made = 0
        for index in range(history):
            number = f"{HISTORY_PREFIX}{index + 1:03d}"
            if Order.objects.filter(order_number=number).exists():
                continue
            line = rng.choice(sellables)
            customer = customers[index % len(customers)]
            postal, address1, address2 = rng.choice(ADDRESSES)
            with transaction.atomic():
                order = order_services.create_order(
                    draft=OrderDraft(
                        lines=[
                            OrderLine(
                                product=line["product"],
                                variant=line.get("variant"),
                                option=line.get("option"),
                                quantity=1,
                                unit_price=line["price"],
                            )
                        ],
                        order_number=number,
                        shipping_address=Address(
                            recipient_name=customer.name,
                            phone=customer.phone,
                            postal_code=postal,
                            address1=address1,
                            address2=address2,
                        ),
                        shipping_amount=3000,
                        payment_id=f"demo_{number}",
                        payment_method=rng.choice(
                            ["card", "kakaopay", "naverpay", "bank_transfer"]
                        ),
                    ),
                    customer=customer,
                ).order
                parcel = fulfillment_services.create_fulfillment(order=order)
                fulfillment_services.ship_fulfillment(
                    fulfillment=parcel,
                    carrier=rng.choice(["cj", "hanjin", "lotte", "epost"]),
                    tracking_number=f"{rng.randint(10**11, 10**12 - 1)}",
                )
                fulfillment_services.deliver_fulfillment(fulfillment=parcel)
                if index % 8 == 3:
                    return_services.request_return(
                        order=order,
                        reason=HISTORY_RETURNS[(index // 8) % len(HISTORY_RETURNS)],
                        items=[ReturnLine(order.items.get().pk, 1)],
                    )
                else:
                    order_services.confirm_order(order=order, reason="buyer confirmed")
                self._back_date(number, days=3 + (index * 27) // history, rng=rng)
            made += 1
        return made

    def _back_date(self, number: str, *, days: int, rng) -> None:
        """Move an order and everything under it ``days`` back (hours of the day vary), and what
        happened before its first parcel (placing and paying) a few hours to a few days earlier
        still, so parcels leave some time after payment. The order of events stays as it was."""
        if not days:
            return
        order = Order.objects.get(order_number=number)
        shift = timedelta(days=days, hours=rng.randint(0, 8))
        first_parcel = Fulfillment.objects.filter(order=order).order_by("created_at").first()
        cut = first_parcel.created_at if first_parcel else None
        lead = timedelta(hours=rng.choice([3, 6, 20, 26, 30, 50, 70, 100])) if cut else timedelta()

        def moved(moment):
            return moment - shift - (lead if cut is None or moment < cut else timedelta())

        for model in (Transaction, Fulfillment, Return, Exchange, TransitionLog):
            for row in model.objects.filter(order=order):
                changes = {"created_at": moved(row.created_at)}
                for name in ("shipped_at", "delivered_at", "received_at", "completed_at"):
                    moment = getattr(row, name, None)
                    if moment:
                        changes[name] = moved(moment)
                model.objects.filter(pk=row.pk).update(**changes)
        Order.objects.filter(pk=order.pk).update(
            created_at=moved(order.created_at), updated_at=moved(order.updated_at)
        )

    def _customers(self) -> list[Customer]:
        found = []
        # Every demo customer logs in with the same published password: hashed once (a hash
        # takes a quarter of a second on purpose), not once per customer.
        password = make_password("demo-password")
        for name, email, phone in CUSTOMERS:
            customer, created = Customer.objects.get_or_create(
                email=email, defaults={"name": name, "phone": phone}
            )
            if created:
                customer.password = password
                customer.save(update_fields=["password"])
            found.append(customer)
        return found

    def _catalog(self) -> list[dict]:
        """Every sellable line (product, variant, option) as order-line dicts."""
        lines = []
        for title, sku, price, variants in CATALOG:
            product, _ = Product.objects.get_or_create(
                sku=sku, defaults={"title": title, "price": price}
            )
            if not variants:
                lines.append({"product": product.pk, "price": price})
            for v_title, v_sku, options in variants:
                variant, _ = Variant.objects.get_or_create(
                    product=product, sku=v_sku, defaults={"title": v_title}
                )
                if not options:
                    lines.append({"product": product.pk, "variant": variant.pk, "price": price})
                for o_title, o_sku, stock in options:
                    option, _ = Option.objects.get_or_create(
                        variant=variant, sku=o_sku, defaults={"title": o_title, "stock": stock}
                    )
                    lines.append(
                        {
                            "product": product.pk,
                            "variant": variant.pk,
                            "option": option.pk,
                            "price": price,
                        }
                    )
        return lines

    def _tell(self, story, number, customer, rng, sellables):
        postal, address1, address2 = rng.choice(ADDRESSES)
        address = Address(
            recipient_name=customer.name,
            phone=customer.phone,
            postal_code=postal,
            address1=address1,
            address2=address2,
        )
        picks = rng.sample(sellables, k=rng.randint(1, 3))
        items = [
            OrderLine(
                product=line["product"],
                variant=line.get("variant"),
                option=line.get("option"),
                quantity=rng.randint(1, 2),
                unit_price=line["price"],
            )
            for line in picks
        ]
        paid = story not in ("pending", "failed")
        if story == "checkout":
            cart = Cart.objects.create(customer=customer)
            CartItem.objects.bulk_create(
                CartItem(
                    cart=cart,
                    product_id=i.product,
                    variant_id=i.variant,
                    option_id=i.option,
                    quantity=i.quantity,
                )
                for i in items
            )
            order_services.checkout_cart(
                cart=cart.pk,
                draft=OrderDraft(
                    order_number=number,
                    shipping_address=address,
                    payment_id=f"demo_{number}",
                    payment_method="card",
                ),
            )
            return
        order = order_services.create_order(
            draft=OrderDraft(
                lines=items,
                order_number=number,
                shipping_address=address,
                shipping_amount=3000,
                payment_id=f"demo_{number}" if paid else None,
                payment_method=rng.choice(["card", "kakaopay", "naverpay", "bank_transfer"]),
            ),
            customer=customer,
        ).order
        if story == "failed":
            order_services.fail_payment(order=order, reason="card declined")
        elif story == "canceled":
            order_services.cancel_order(order=order, reason="customer changed their mind")
        if story in ("pending", "failed", "canceled", "paid"):
            return
        carrier = rng.choice(["cj", "hanjin", "lotte", "epost", "CJ Logistics", "FedEx"])
        tracking = f"{rng.randint(10**11, 10**12 - 1)}"
        if story == "partly_shipped":
            first = order.items.order_by("pk").first()
            parcel = fulfillment_services.create_fulfillment(
                order=order, items=[ItemUnits(first.pk, 1)]
            )
            fulfillment_services.ship_fulfillment(
                fulfillment=parcel, carrier=carrier, tracking_number=tracking
            )
            return
        parcel = fulfillment_services.create_fulfillment(order=order)
        if story == "preparing":
            return
        fulfillment_services.pack_fulfillment(fulfillment=parcel)
        if story == "packed":
            return
        fulfillment_services.ship_fulfillment(
            fulfillment=parcel, carrier=carrier, tracking_number=tracking
        )
        if story == "shipped":
            return
        if story == "lost_parcel":
            fulfillment_services.fail_fulfillment(fulfillment=parcel, reason="lost in transit")
            return
        fulfillment_services.deliver_fulfillment(fulfillment=parcel)
        if story == "delivered":
            return
        if story == "confirmed":
            order_services.confirm_order(order=order, reason="buyer confirmed")
            return
        first = order.items.order_by("pk").first()
        units = [ReturnLine(first.pk, 1)]
        if story.startswith("exchange"):
            exchange = return_services.request_exchange(
                order=order, reason="wrong_size", items=units, note="Needs one size up"
            )
            if story == "exchange_rejected":
                return_services.reject_exchange(request=exchange, reason="worn")
            if story in ("exchange_approved", "exchange_processing", "exchange_shipped"):
                return_services.approve_exchange(request=exchange)
            if story in ("exchange_processing", "exchange_shipped"):
                return_services.receive_exchange(request=exchange)
            if story == "exchange_shipped":
                return_services.complete_exchange(request=exchange)
                replacement = exchange.replacement_fulfillments.get()
                fulfillment_services.ship_fulfillment(
                    fulfillment=replacement, carrier="cj", tracking_number=tracking + "9"
                )
            return
        everything = [ReturnLine(i.pk, i.quantity) for i in order.items.all()]
        request = return_services.request_return(
            order=order,
            reason="defective" if story == "returned" else "change_of_mind",
            items=everything if story == "returned" else units,
        )
        if story == "return_rejected":
            return_services.reject_return(request=request, reason="outside the return window")
        if story in ("return_requested", "return_rejected"):
            return
        return_services.approve_return(request=request)
        if story == "return_approved":
            return
        return_services.receive_return(request=request)
        if story == "returned":
            return_services.complete_return(request=request)
