"""Confirm the purchase of orders delivered long enough ago (run daily, e.g. from cron)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from fulfillment.services import confirm_delivered_orders
from shop.errors import DomainError


class Command(BaseCommand):
    help = (
        "Confirm every delivered order whose last parcel arrived more than N days ago "
        "(N: --days, else the SHOP_AUTO_CONFIRM_DAYS setting)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Days after delivery (default: {settings.SHOP_AUTO_CONFIRM_DAYS}).",
        )

    def handle(self, *args, days: int | None = None, **options):
        days = settings.SHOP_AUTO_CONFIRM_DAYS if days is None else days
        try:
            confirmed = confirm_delivered_orders(days=days)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Confirmed {confirmed} order(s) delivered more than {days} days ago.")
