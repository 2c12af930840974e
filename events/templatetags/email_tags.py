from django import template

from shop.admin_utils import money as _money

register = template.Library()


@register.filter
def money(amount, currency="KRW"):
    """An amount in minor units for people: ``59,000 KRW``."""
    return _money(amount, currency or "KRW")
