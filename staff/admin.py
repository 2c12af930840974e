"""The customer's page: their details, and what they bought and sent back across the apps."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from shop.admin_utils import CappedPaginator
from shop.models import Customer, normalize_email
from staff.customer import customer_overview


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
    change_form_template = "admin/shop/customer/change_form.html"

    def has_delete_permission(self, request, obj=None):
        return False  # orders keep pointing at their customer

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        customer = self.get_object(request, object_id)
        if customer is not None and request.user.has_perm("orders.view_order"):
            extra_context["overview"] = customer_overview(request, customer)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_search_results(self, request, queryset, search_term):
        """An email finds its customer in any spelling (its normal form is unique)."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if "@" in search_term:
            found |= queryset.filter(normalized_email=normalize_email(search_term))
        return found, may_have_duplicates

    @admin.display(description=_("orders"))
    def orders_link(self, obj):
        url = reverse("admin:orders_order_changelist")
        return format_html(
            '<a href="{}?customer__id__exact={}">{}</a>', url, obj.pk, _("orders of this customer")
        )
