"""``shop.db.service``: a deadlock or serialization failure runs the whole service again, once
its transaction is rolled back, so the work is done exactly once; anything else is not retried."""

import threading
from unittest import mock

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import OperationalError, connections, transaction

from orders import services as order_services
from orders.models import Transaction, TransitionLog
from orders.services import payments
from shop.db import service
from shop.models import Product
from tests.factories import ProductFactory
from tests.helpers import place_order


def concurrency_failure(sqlstate: str) -> OperationalError:
    """What Django raises for PostgreSQL's deadlock_detected (40P01) or serialization_failure
    (40001): an OperationalError caused by the driver's error carrying the SQLSTATE."""
    cause = psycopg.errors.lookup(sqlstate)("injected")
    error = OperationalError(str(cause))
    error.__cause__ = cause
    return error


def fail_once(target, sqlstate: str):
    """Wrap ``target`` so that its first call raises the concurrency failure, after which it
    runs normally; the wrapper counts its calls."""
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise concurrency_failure(sqlstate)
        return target(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_payment_hit_by_a_deadlock_is_retried_and_recorded_once(sqlstate):
    order = place_order(paid=False)
    # The failure comes after the attempt has written its transaction row: the retry must
    # start from a rolled-back state, or the payment would be recorded twice.
    flaky = fail_once(payments.run_transition, sqlstate)
    with mock.patch.object(payments, "run_transition", flaky):
        payment = order_services.record_payment(
            order=order.pk, payment_id="pay_retry", payment_method="card"
        )

    assert len(flaky.calls) == 3  # failed mark_paid, then mark_paid and pay
    assert list(Transaction.objects.values_list("pk", "payment_id", "status")) == [
        (payment.pk, "pay_retry", "paid")
    ]
    order.refresh_from_db()
    assert order.status == "paid"
    assert TransitionLog.objects.filter(order=order, transition="pay").count() == 1


@pytest.mark.django_db(transaction=True)
def test_other_database_errors_are_not_retried():
    order = place_order(paid=False)
    flaky = fail_once(payments.run_transition, "23505")  # unique_violation
    with (
        mock.patch.object(payments, "run_transition", flaky),
        pytest.raises(OperationalError),
    ):
        order_services.record_payment(order=order.pk, payment_id="pay_once")
    assert len(flaky.calls) == 1
    assert not Transaction.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_service_gives_up_after_its_attempts_and_leaves_nothing():
    order = place_order(paid=False)
    calls = []

    def always(*args, **kwargs):
        calls.append(args)
        raise concurrency_failure("40P01")

    with (
        mock.patch.object(payments, "run_transition", always),
        pytest.raises(OperationalError),
    ):
        order_services.record_payment(order=order.pk, payment_id="pay_never")
    assert len(calls) == 3
    assert not Transaction.objects.exists()


@pytest.mark.django_db
def test_a_nested_service_joins_its_callers_transaction_and_does_not_retry_alone():
    """Only the outermost service may retry: an inner one cannot roll back what its caller did."""
    order = place_order(paid=False)
    flaky = fail_once(payments.run_transition, "40P01")
    with (
        mock.patch.object(payments, "run_transition", flaky),
        pytest.raises(OperationalError),
        transaction.atomic(),
    ):
        order_services.record_payment(order=order.pk, payment_id="pay_nested")
    assert len(flaky.calls) == 1


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_409_with_retry_after_when_the_retries_run_out(client):
    user = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    order = place_order(paid=False)

    def always(*args, **kwargs):
        raise concurrency_failure("40001")

    with mock.patch.object(payments, "run_transition", always):
        answer = client.post(
            "/api/transactions",
            {"order": order.pk, "paymentId": "pay_busy"},
            content_type="application/json",
        )
    assert answer.status_code == 409
    assert answer["Retry-After"] == "1"
    assert answer.json()["errors"][0]["name"] == "Conflict"
    assert not Transaction.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_between_two_services_is_retried_and_both_finish():
    """Two services lock the same two rows in opposite orders: PostgreSQL kills one with
    40P01, ``service`` runs it again, and both changes land exactly once."""
    first, second = ProductFactory(stock=10), ProductFactory(stock=10)
    holding = threading.Barrier(2)
    attempts = {"a": 0, "b": 0}

    def take(name, rows):
        @service
        def run():
            attempts[name] += 1
            for index, pk in enumerate(rows):
                Product.objects.select_for_update().get(pk=pk)
                if index == 0 and attempts[name] == 1:
                    holding.wait(timeout=10)  # both hold their first row, then cross
                Product.objects.filter(pk=pk).update(stock=Product.objects.get(pk=pk).stock - 1)

        try:
            run()
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=take, args=("a", [first.pk, second.pk])),
        threading.Thread(target=take, args=("b", [second.pk, first.pk])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # One of them was the deadlock's victim and ran again (on a loaded machine the retry has
    # been seen to fail once more and run a third time); the other ran once.
    assert min(attempts.values()) == 1 and max(attempts.values()) >= 2, attempts
    assert list(Product.objects.order_by("pk").values_list("stock", flat=True)) == [8, 8]
