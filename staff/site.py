"""The staff admin site: Django's admin with a home screen of work queues and charts.

Installed in place of ``django.contrib.admin`` (``staff.apps.StaffAdminConfig``), so ``admin.site``
is this site everywhere and every app's ``admin.py`` registers on it as usual.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from staff.charts import charts
from staff.dashboard import work_queues

# The index and the side bar list the daily work first, in this order; the rest follows.
DAILY_APPS = ["orders", "fulfillment", "returns", "shop", "events"]
# Keys, tokens and login records: a section of their own at the end, shown to superusers only
# (staff who hold a permission on them still reach them by address).
KEY_MODELS = {"ApiKey", "TokenProxy", "Token", "AccessAttempt", "AccessLog", "WebhookEndpoint"}


class ShopAdminSite(admin.AdminSite):
    site_header = _("Shop backoffice")
    site_title = _("Shop backoffice")
    index_title = _("Today")

    def index(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            **work_queues(request),
            "charts": charts(request),
        }
        return super().index(request, extra_context)

    def get_app_list(self, request, app_label=None):
        if app_label:
            return super().get_app_list(request, app_label)
        # The index asks for the list and so does the side bar of every page (each_context):
        # built once a request, each model's permissions checked and its addresses reversed once.
        if not hasattr(request, "_staff_app_list"):
            request._staff_app_list = self._daily_first(request, super().get_app_list(request))
        return request._staff_app_list

    def _daily_first(self, request, apps):
        keys = []
        for app in apps:
            keys += [m for m in app["models"] if m["object_name"] in KEY_MODELS]
            app["models"] = [m for m in app["models"] if m["object_name"] not in KEY_MODELS]
        apps = [app for app in apps if app["models"]]
        rank = {label: index for index, label in enumerate(DAILY_APPS)}
        apps.sort(key=lambda app: (rank.get(app["app_label"], len(rank)), app["name"]))
        if keys and request.user.is_superuser:
            apps.append(
                {
                    "name": _("Keys and access"),
                    "app_label": "keys",
                    "app_url": reverse("admin:app_list", kwargs={"app_label": "shop"}),
                    "has_module_perms": True,
                    "models": keys,
                }
            )
        return apps
