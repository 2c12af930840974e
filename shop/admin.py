"""The catalog screens, API keys, and the admin login's throttle. Catalog rows are
plain records (no state machine).

Every list action declares the permission its change needs (``@admin.action(permissions=…)``):
without one, anyone who may see the list could run it.
"""

import unicodedata

from axes.admin import AccessAttemptAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessLog
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from shop import keys
from shop.models import ApiKey, Option, Product, Variant


def login_username(request, credentials=None) -> str | None:
    """The user name django-axes counts a staff login under: the one the login form looks up
    (Django's ``UsernameField`` folds it to NFKC), so every spelling of a name draws on one
    count."""
    data = credentials if credentials else getattr(request, "POST", {})
    username = data.get("username") if data else None
    return unicodedata.normalize("NFKC", username) if isinstance(username, str) else username


class VariantInline(admin.TabularInline):
    model = Variant
    fields = ["title", "sku", "price", "stock"]
    extra = 0
    show_change_link = True


class OptionInline(admin.TabularInline):
    model = Option
    fields = ["title", "sku", "price", "stock"]
    extra = 0


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["title", "sku", "price", "stock", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["title", "=sku"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["title", "sku", "product", "price", "stock"]
    list_select_related = ["product"]
    search_fields = ["title", "=sku", "product__title"]
    inlines = [OptionInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Storefront and server key pairs. Adding one shows its secret key once; only its digest is
    kept, so it is never shown again (revoke the pair and add a new one if it is lost)."""

    list_display = [
        "name",
        "publishable_key",
        "secret_prefix",
        "created_at",
        "last_used_at",
        "state",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=publishable_key", "=secret_prefix"]
    fields = [
        "name",
        "publishable_key",
        "secret_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = [
        "publishable_key",
        "secret_prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else self.fields

    def has_delete_permission(self, request, obj=None):
        return False  # the transition log names keys: revoke them instead

    @admin.display(description=_("state"))
    def state(self, obj):
        return _("revoked") if obj.revoked_at else _("active")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = keys.create_api_key(name=form.cleaned_data["name"])
        obj.pk = issued.key.pk  # the admin goes on with the row create_api_key wrote
        obj.refresh_from_db()
        obj._state.adding = False
        messages.warning(
            request,
            _(
                "Secret key of %(name)s: %(secret)s. Copy it now: it is shown only this once. "
                "Publishable key: %(publishable)s."
            )
            % {
                "name": issued.key.name,
                "secret": issued.secret_key,
                "publishable": issued.key.publishable_key,
            },
        )

    @admin.action(
        description=_("Revoke the selected keys (they stop working at once)"),
        permissions=["change"],
    )
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            keys.revoke_api_key(key=key)
        self.message_user(request, _("Revoked."), messages.SUCCESS)


# ---------------------------------------------------------------------------------------------
# The admin login's throttle (django-axes): who failed to log in, and who is locked out. Staff
# with the delete permission unlock a user name or address by deleting its attempts.


@admin.register(AccessAttempt)
class LoginAttemptAdmin(AccessAttemptAdmin):
    actions = ["cleanup_expired_attempts"]

    @admin.action(description=_("Clean up expired attempts"), permissions=["delete"])
    def cleanup_expired_attempts(self, request, queryset):
        return super().cleanup_expired_attempts(request, queryset)


@admin.register(AccessLog)
class LoginLogAdmin(AccessLogAdmin):
    pass
