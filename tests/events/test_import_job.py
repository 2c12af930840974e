"""The bulk tracking import runs on a worker: the request that starts it returns at once, the
page shows a progress bar that fills as rows apply, then the row-by-row report."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from events.models import Job, JobStatus
from fulfillment.models import Fulfillment, FulfillmentStatus
from tests import sizes
from tests.events.conftest import wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

# 1,000 rows (five commits of the import) in ``make test``, 10,000 in ``make test-long``.
ROWS = sizes.size("SHOP_TEST_IMPORT_ROWS", quick=1000, long=10000)


def insert_paid_orders(count: int) -> list[str]:
    """Paid orders with one line each, straight into the tables (only the import is under
    test); no customer email, so no email is sent for them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO orders_order (
                order_number, customer_name, customer_email, customer_phone,
                shipping_recipient_name, shipping_phone, shipping_postal_code,
                shipping_address1, shipping_address2, status, currency, subtotal_amount,
                shipping_amount, discount_amount, total_amount, staff_note, created_at, updated_at
            )
            SELECT 'IMP-' || lpad(n::text, 6, '0'), 'Buyer ' || n, '', '', '', '', '', '', '',
                   'paid', 'KRW', 10000, 0, 0, 10000, '', now(), now()
            FROM generate_series(1, %s) AS n
            """,
            [count],
        )
        cursor.execute(
            """
            INSERT INTO orders_orderitem (
                order_id, title, sku, unit_price, quantity, total_price, created_at, updated_at
            )
            SELECT id, 'Linen shirt', 'LINEN', 10000, 1, 10000, now(), now() FROM orders_order
            """
        )
        cursor.execute("ANALYZE")
    return [f"IMP-{n:06d}" for n in range(1, count + 1)]


def test_a_large_import_returns_at_once_and_shows_progress_then_the_report(
    chromium, live_server, worker, tmp_path
):
    numbers = insert_paid_orders(ROWS)
    csv = tmp_path / "tracking.csv"
    lines = [f"{number},cj,7{i:011d}" for i, number in enumerate(numbers)]
    csv.write_text("order number,carrier,tracking number\n" + "\n".join(lines) + "\nNOPE-1,cj,1\n")
    get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")

    context = chromium.new_context(locale="en-US", viewport={"width": 1200, "height": 900})
    context.set_default_timeout(120_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.goto(live_server.url + reverse("admin:fulfillment_fulfillment_import"))
        page.set_input_files("input[name=file]", str(csv))
        page.click("input[name=_preview]")
        page.wait_for_selector("#import-preview")
        assert page.locator('#import-rows [data-outcome="new"]').count() == ROWS

        # No worker runs yet: the page that answers the click can only be the job waiting.
        page.click("input[name=_apply]")
        page.wait_for_selector("#import-running")
        job = Job.objects.get()
        assert job.status == JobStatus.QUEUED and job.done == 0
        assert page.url.endswith(reverse("admin:fulfillment_fulfillment_import_job", args=[job.pk]))

        worker.start()
        seen = set()

        def progress():
            box = page.locator("#import-job")
            if box.count() == 0:  # between two pages
                return False
            status = box.get_attribute("data-status")
            assert status != JobStatus.FAILED, Job.objects.get().error
            seen.add(int(box.get_attribute("data-done") or 0))
            return status == JobStatus.DONE

        wait_until(progress, timeout=1500, what="the import to finish")
        # The bar filled in steps (batches of rows) before the report replaced it.
        assert any(0 < value < ROWS + 1 for value in seen), seen
        result = page.locator("#import-result")
        assert f"{ROWS} row(s) applied" in result.inner_text()
        assert "1 not applied" in result.inner_text()
        assert page.locator('#import-rows [data-outcome="new"]').count() == ROWS
        bad = page.locator('#import-rows [data-outcome="error"]')
        assert "NOPE-1" in bad.inner_text()
    finally:
        context.close()
    assert Fulfillment.objects.filter(status=FulfillmentStatus.SHIPPED).count() == ROWS
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.done == job.total == ROWS + 1
