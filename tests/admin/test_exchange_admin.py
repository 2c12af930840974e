"""Customer service files an exchange for a buyer from the order page, as they file a return;
the exchange's page says the price difference in words, takes the buyer's payment of what
they owe, and the replacement is sent only then."""

import pytest
from django.urls import reverse

from fulfillment.models import Fulfillment
from orders import services as order_services
from orders.models import Transaction
from orders.values import OrderDraft, OrderLine
from returns.models import Exchange, RequestStatus
from tests.admin.shortcuts import deliver_everything
from tests.factories import OptionFactory, ProductFactory, VariantFactory
from tests.helpers import ADDRESS_VALUE, SNAPSHOT_VALUE, db_snapshot

pytestmark = pytest.mark.django_db


def shirt_order(price=10000):
    """A delivered order of one shirt (a variant without options), and a dearer and a cheaper
    size of it."""
    shirt = ProductFactory(price=price)
    ordered = VariantFactory(product=shirt, title="M", stock=5)
    dearer = VariantFactory(product=shirt, title="XL", price=price + 5000, stock=5)
    cheaper = VariantFactory(product=shirt, title="S", price=price - 2000, stock=5)
    order = order_services.create_order(
        draft=OrderDraft(
            lines=[OrderLine(product=shirt.pk, variant=ordered.pk, quantity=1)],
            customer_snapshot=SNAPSHOT_VALUE,
            shipping_address=ADDRESS_VALUE,
        )
    ).order
    order_services.record_payment(order=order, payment_method="card")
    deliver_everything(order)
    order.refresh_from_db()
    return order, dearer, cheaper


def file_url(order):
    return reverse("admin:orders_order_request_exchange", args=[order.pk])


def run_url(exchange, name):
    return reverse("admin:returns_exchange_run", args=[exchange.pk, name])


def test_customer_service_files_an_exchange_into_a_dearer_size(as_role):
    order, dearer, _cheaper = shirt_order()
    line = order.items.get()
    client = as_role("service")
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert file_url(order) in order_page

    form = client.get(file_url(order)).content.decode()
    assert f'name="qty_{line.pk}"' in form and f'name="replacement_{line.pk}"' in form
    assert "XL · 15,000 KRW" in form and "S · 8,000 KRW" in form

    answer = client.post(
        file_url(order),
        {
            f"qty_{line.pk}": 1,
            f"replacement_{line.pk}": f"v:{dearer.pk}",
            "reason": "wrong_size",
            "note": "one size up",
        },
        follow=True,
    )
    exchange = Exchange.objects.get(order=order)
    assert answer.redirect_chain[-1][0] == reverse(
        "admin:returns_exchange_change", args=[exchange.pk]
    )
    assert exchange.difference_due == 5000 and exchange.note == "one size up"
    assert exchange.items.get().replacement_variant == dearer
    page = answer.content.decode()
    assert "The buyer owes 5,000 KRW." in page
    assert "Waiting for the buyer&#x27;s payment" in page
    assert 'data-action="pay_difference"' not in page  # paid once the exchange is approved
    order_page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content
    assert "The buyer owes 5,000 KRW." in order_page.decode()  # on the order's exchange card

    client.post(run_url(exchange, "approve"))
    client.post(run_url(exchange, "start_processing"), {f"qty_{line.pk}": 1})
    refused = client.post(run_url(exchange, "complete"), follow=True).content.decode()
    assert "The buyer owes 5,000 KRW" in refused and "record their payment" in refused
    assert not Fulfillment.objects.filter(exchange=exchange).exists()

    page = client.get(reverse("admin:returns_exchange_change", args=[exchange.pk])).content
    assert 'data-action="pay_difference"' in page.decode()
    assert 'value="5000"' in client.get(run_url(exchange, "pay_difference")).content.decode()
    client.post(
        run_url(exchange, "pay_difference"),
        {"amount": 5000, "method": "bank_transfer", "reference": "KIM MINJI"},
    )
    exchange.refresh_from_db()
    assert exchange.difference_transaction.reference == "KIM MINJI"
    client.post(run_url(exchange, "complete"))
    exchange.refresh_from_db()
    assert exchange.status == RequestStatus.COMPLETED
    assert Fulfillment.objects.filter(exchange=exchange).count() == 1


def test_a_cheaper_size_says_a_refund_is_owed_and_refunds_on_completion(as_role):
    order, _dearer, cheaper = shirt_order()
    line = order.items.get()
    client = as_role("service")
    client.post(
        file_url(order),
        {f"qty_{line.pk}": 1, f"replacement_{line.pk}": f"v:{cheaper.pk}", "reason": "wrong_size"},
    )
    exchange = Exchange.objects.get(order=order)
    page = client.get(reverse("admin:returns_exchange_change", args=[exchange.pk])).content
    assert "A refund of 2,000 KRW is owed to the buyer." in page.decode()
    for name, data in (("approve", {}), ("start_processing", {f"qty_{line.pk}": 1})):
        client.post(run_url(exchange, name), data)
    client.post(run_url(exchange, "complete"))
    refund = Transaction.objects.get(order=order, kind="refund")
    assert refund.amount == 2000


def test_a_refused_exchange_shows_the_form_again_and_writes_nothing(as_role):
    order, dearer, _cheaper = shirt_order()
    line = order.items.get()
    client = as_role("service")
    before = db_snapshot()
    answer = client.post(
        file_url(order),
        {f"qty_{line.pk}": 3, f"replacement_{line.pk}": f"v:{dearer.pk}", "reason": "wrong_size"},
    )
    assert answer.status_code == 200
    assert "can be asked back, not 3" in answer.content.decode()
    assert db_snapshot() == before


def test_the_warehouse_cannot_file_an_exchange(as_role):
    order, _dearer, _cheaper = shirt_order()
    assert as_role("warehouse").get(file_url(order)).status_code == 403


def test_an_option_is_offered_with_its_variant(as_role):
    order, dearer, _cheaper = shirt_order()
    navy = OptionFactory(variant=dearer, title="Navy", price=16000, stock=2)
    form = as_role("service").get(file_url(order)).content.decode()
    assert f'value="o:{dearer.pk},{navy.pk}"' in form and "XL / Navy · 16,000 KRW" in form
