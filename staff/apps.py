from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    """The backoffice as staff meet it: the admin site and its home, pages that read across the
    apps (a customer's orders and returns), and the demo shop. It sits above every other app."""

    name = "staff"
    verbose_name = _("Staff")


class StaffAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with the staff home screen (``staff.site``)."""

    default = False
    default_site = "staff.site.ShopAdminSite"
