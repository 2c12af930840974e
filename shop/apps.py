from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = _("Catalog and customers")

    def ready(self) -> None:
        # The catalog's collections (customers, products, carts) join the API core's registry,
        # as each domain app's ``api`` module does when the registry loads them.
        from shop.api import catalog  # noqa: F401
