"""The catalog and customer screens. Catalog rows are plain records (no state machine)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shop.admin_utils import CappedPaginator
from shop.models import Customer, Option, Product, Variant


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "is_active", "orders_link", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "=email", "=phone"]
    exclude = ["password"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # facet counts would count whole tables
    paginator = CappedPaginator
    list_per_page = 50

    def has_delete_permission(self, request, obj=None):
        return False  # orders keep pointing at their customer

    @admin.display(description=_("orders"))
    def orders_link(self, obj):
        url = reverse("admin:orders_order_changelist")
        return format_html('<a href="{}?q={}">{}</a>', url, obj.email, _("orders of this customer"))


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
