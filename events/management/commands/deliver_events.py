"""Relay and deliver what waits in the outbox, in this process, once (without a worker)."""

from django.core.management.base import BaseCommand

from events import services


class Command(BaseCommand):
    help = (
        "Relay outbox events not yet relayed and attempt every due webhook and email delivery, "
        "here and now (what a worker's periodic sweep does; for a shop run without a broker)."
    )

    def handle(self, *args, **options):
        relayed = 0
        while made := services.relay_events():
            relayed += made
        attempted, retries = services.deliver_due(budget_seconds=float("inf"))
        self.stdout.write(
            f"{relayed} deliveries made, {attempted} attempted, {len(retries)} to retry later, "
            f"{services.unrelayed_count()} events left to relay."
        )
