from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfillmentConfig(AppConfig):
    name = "fulfillment"
    verbose_name = _("Fulfilment and shipping")

    def ready(self):
        # The order's own verbs that touch parcels (cancel calls off unsent ones; the address
        # locks once one has left) run these: orders does not import fulfilment.
        from fulfillment.selectors import has_shipped_parcels
        from fulfillment.services import call_off_parcels
        from orders.services import CHILDREN

        CHILDREN.register(shipped=has_shipped_parcels, call_off=call_off_parcels)
