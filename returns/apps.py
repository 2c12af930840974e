from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    name = "returns"
    verbose_name = _("Returns and exchanges")

    def ready(self):
        # An exchange's replacement parcel that arrives moves its order on; fulfilment runs
        # this when it delivers one (it does not import returns).
        from fulfillment.services import REPLACEMENT_DELIVERED
        from returns.services import replacement_delivered

        if replacement_delivered not in REPLACEMENT_DELIVERED:
            REPLACEMENT_DELIVERED.append(replacement_delivered)
