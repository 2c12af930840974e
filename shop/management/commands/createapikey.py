import json

from django.core.management.base import BaseCommand, CommandError

from shop.errors import DomainError
from shop.keys import create_api_key


class Command(BaseCommand):
    help = (
        "Create a storefront/server key pair and print it as one JSON object "
        '{"name", "publishableKey", "secretKey"}. The secret is shown only this once.'
    )

    def add_arguments(self, parser):
        parser.add_argument("name")

    def handle(self, *args, name: str, **options):
        try:
            issued = create_api_key(name=name)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(json.dumps(issued.as_json()))
