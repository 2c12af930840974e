"""Customer emails: which events write to the buyer, in which language, and how they are made.

An email is a delivery like a webhook (retried, logged, resendable); its content comes from the
event's document (the order, parcel or return as it was at the change) and the templates in
``templates/emails/``, in the customer's language (``Customer.language``; a guest's order or a
customer without one gets the shop's ``LANGUAGE_CODE``).
"""

import time

import orjson
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from events.webhooks import EXCERPT, Outcome
from shop.api.collections import registry
from shop.models import Customer

# Event type → the email it sends the buyer, and its subject.
EMAILS = {
    "order.paid": ("order_confirmation", _("Your order %(number)s is confirmed")),
    "fulfillment.shipped": ("shipped", _("Your order %(number)s is on its way")),
    "order.delivered": ("delivered", _("Your order %(number)s has been delivered")),
    "return.approved": ("return_approved", _("Your return for order %(number)s is approved")),
    "return.rejected": ("return_rejected", _("About your return for order %(number)s")),
    "return.completed": ("return_refunded", _("Your refund for order %(number)s")),
}


def _order_of(event_type: str, data: dict) -> dict | None:
    """The order document an event's document is about (populated at the event's depth)."""
    if event_type.startswith("order."):
        return data
    order = data.get("order")
    return order if isinstance(order, dict) else None


def recipient_for(event_type: str, data: dict) -> tuple[str, str] | None:
    """(address, language) of the buyer an event writes to, or None (no email for this event,
    emails turned off, or an order without an address)."""
    if event_type not in EMAILS or not settings.SHOP_CUSTOMER_EMAILS:
        return None
    order = _order_of(event_type, data)
    address = ((order or {}).get("customerSnapshot") or {}).get("email")
    if not address:
        return None
    return address, customer_language(order.get("customer"))


def customer_language(customer) -> str:
    if isinstance(customer, dict):
        customer = customer.get("id")
    language = ""
    if customer is not None:
        language = (
            Customer.objects.filter(pk=customer).values_list("language", flat=True).first() or ""
        )
    known = {code for code, _name in settings.LANGUAGES}
    return language if language in known else settings.LANGUAGE_CODE


def build(event_type: str, data: dict, *, to: str, language: str) -> EmailMultiAlternatives:
    """The email an event sends to ``to``, in ``language``: text, with an HTML alternative."""
    template, subject = EMAILS[event_type]
    order = _order_of(event_type, data) or {}
    context = {
        "shop_name": settings.SHOP_NAME,
        "order": order,
        "document": data,
        "lines": _lines(event_type, data),
        "language": language,
    }
    with translation.override(language):
        subject = str(subject) % {"number": order.get("orderNumber", "")}
        context["subject"] = subject
        text = render_to_string(f"emails/{template}.txt", context)
        html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=f"[{settings.SHOP_NAME}] {subject}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[settings.SHOP_REPLY_TO] if settings.SHOP_REPLY_TO else None,
        headers={"Content-Language": language},
    )
    message.attach_alternative(html, "text/html")
    return message


def _lines(event_type: str, data: dict) -> list[dict]:
    """The lines an email lists: an order's items, or a parcel's or return's units with the
    titles of the order lines they are (read through the API's ``order-items`` collection, as
    events know documents, not the apps that make them)."""
    items = (data.get("items") or {}).get("docs") or []
    if event_type.startswith("order."):
        return [item for item in items if isinstance(item, dict)]
    wanted = [item for item in items if isinstance(item, dict) and item.get("orderItem")]
    ids = [
        i["orderItem"]["id"] if isinstance(i["orderItem"], dict) else i["orderItem"] for i in wanted
    ]
    order_items = registry.get("order-items").model.objects
    titles = dict(order_items.filter(pk__in=ids).values_list("pk", "title"))
    return [
        {"title": titles.get(pk, ""), "quantity": item.get("quantity")}
        for pk, item in zip(ids, wanted, strict=True)
    ]


def send(delivery) -> Outcome:
    """Send a delivery's email through Django's email backend (SMTP in production)."""
    started = time.monotonic()
    data = orjson.loads(delivery.event.payload)["data"]
    try:
        message = build(
            delivery.event.type, data, to=delivery.recipient, language=delivery.language
        )
        message.send()
    except Exception as error:  # an SMTP error, a refused address: retried like a webhook
        excerpt = f"{type(error).__name__}: {error}"[:EXCERPT]
        return Outcome(False, None, excerpt, _ms(started))
    return Outcome(True, None, f"sent to {delivery.recipient}", _ms(started))


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
