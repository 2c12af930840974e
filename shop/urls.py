from django.contrib import admin
from django.urls import include, path

from shop.views import healthz

# What fails outside a view answers in the API's error shape under /api/.
handler500 = "shop.api.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/", include("shop.api.urls")),
]
