"""The staff admin site: Django's admin with a home screen of work queues.

Installed in place of ``django.contrib.admin`` (``ShopAdminConfig``), so ``admin.site`` is this
site everywhere and every app's ``admin.py`` registers on it as usual.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class ShopAdminConfig(AdminConfig):
    default_site = "shop.admin_site.ShopAdminSite"


class ShopAdminSite(admin.AdminSite):
    site_header = _("Shop backoffice")
    site_title = _("Shop backoffice")
    index_title = _("Today")

    def index(self, request, extra_context=None):
        from shop.admin_dashboard import work_queues

        extra_context = {**(extra_context or {}), **work_queues(request)}
        return super().index(request, extra_context)
