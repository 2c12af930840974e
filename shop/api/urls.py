"""``/api/…``: every collection (aliases included), the server API, the schema and its docs."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from shop.api.collections import registry
from shop.api.login import (
    CustomerLoginView,
    CustomerLogoutView,
    CustomerMeView,
    CustomerRefreshView,
)
from shop.api.views import ActionView, NestedView, NotFoundView, viewset_for

LIST = {"get": "list", "post": "create", "patch": "bulk_update", "delete": "bulk_destroy"}
DETAIL = {"get": "retrieve", "patch": "partial_update", "delete": "destroy"}
COUNT = {"get": "count"}


def collection_urls() -> list:
    patterns = []
    for nested in registry.nested():
        view = NestedView.as_view(nested=nested)
        name = f"{nested.parent}-{nested.name}"
        patterns.append(path(f"{nested.parent}/<str:pk>/{nested.name}", view, name=name))
    for slug, collection in registry.routes():
        viewset = viewset_for(slug, collection)
        patterns += [
            path(f"{slug}", viewset.as_view(LIST), name=f"{slug}-list"),
            path(f"{slug}/count", viewset.as_view(COUNT), name=f"{slug}-count"),
            path(f"{slug}/<str:pk>", viewset.as_view(DETAIL), name=f"{slug}-detail"),
        ]
    for action in registry.actions():
        view = ActionView.as_view(action=action)
        patterns.append(path(action.path, view, name=f"{action.path}-action"))
    return patterns


urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start script as its own request (no inline script: CSP).
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("customers/login", CustomerLoginView.as_view(), name="customers-login"),
    path("customers/me", CustomerMeView.as_view(), name="customers-me"),
    path("customers/logout", CustomerLogoutView.as_view(), name="customers-logout"),
    path("customers/refresh-token", CustomerRefreshView.as_view(), name="customers-refresh-token"),
    *collection_urls(),
    re_path(r"^.*$", NotFoundView.as_view(), name="api-not-found"),
]
