"""The bulk tracking import as background work: a staff member's file becomes a ``Job`` that a
worker applies in batches, recording how many rows are done as it goes, then the row-by-row
report. The admin page that started it only polls the job (``FulfillmentAdmin.import_job_view``).

Running it twice is safe: rows already applied are planned as skipped the second time.
"""

from celery import current_app, shared_task
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone, translation

from events.models import Job, JobStatus
from fulfillment import imports, services
from shop.actors import SYSTEM, Actor
from shop.errors import DomainError

KIND = "tracking_import"


def start_tracking_import(*, text: str, user, language: str) -> Job:
    """A job for the import of ``text`` by ``user``: run by a worker once this commits, or at
    once in this process when there is no broker (the embedded first run)."""
    job = Job.objects.create(kind=KIND, input=text, created_by=user, language=language)
    if current_app.conf.task_always_eager:
        run_tracking_import(job.pk)
    else:
        transaction.on_commit(lambda: run_tracking_import.delay(job.pk), robust=True)
    return job


@shared_task(acks_late=True, ignore_result=True)
def run_tracking_import(job_id: int) -> None:
    job = Job.objects.filter(pk=job_id, kind=KIND).first()
    if job is None or job.status == JobStatus.DONE:
        return
    user = get_user_model().objects.filter(pk=job.created_by_id).first()
    actor = Actor.staff(user) if user is not None else SYSTEM
    with translation.override(job.language or None):
        try:
            planned = imports.plan(imports.parse(job.input))
        except DomainError as error:
            _finish(job, JobStatus.FAILED, error=error.message)
            return
        Job.objects.filter(pk=job.pk).update(
            status=JobStatus.RUNNING, total=len(planned), done=0, started_at=timezone.now()
        )
        rows = []
        step = imports.BATCH_SIZE
        for start in range(0, len(planned), step):
            rows += imports.apply(planned[start : start + step], actor=actor).rows
            Job.objects.filter(pk=job.pk).update(done=len(rows))
    _finish(job, JobStatus.DONE, result={"rows": [_row(entry) for entry in rows]})


def _row(entry) -> dict:
    row = entry.row
    return {
        "row": {
            "line": row.line,
            "order_number": row.order_number,
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "sku": row.sku,
            "quantity": row.quantity,
        },
        "action": entry.action,
        "message": str(entry.message),
        "fulfillment_id": entry.fulfillment_id,
    }


def _finish(job: Job, status: str, *, result=None, error: str = "") -> None:
    Job.objects.filter(pk=job.pk).update(
        status=status, result=result, error=error, finished_at=timezone.now()
    )


def counts(rows: list[dict]) -> dict[str, int]:
    """The summary the import page shows: rows per outcome, and how many were applied."""
    found = {action: 0 for action in ("new", "ship", "skip", "error")}
    for entry in rows:
        found[entry["action"]] = found.get(entry["action"], 0) + 1
    found["good"] = found["new"] + found["ship"]
    return found


@shared_task(acks_late=True, ignore_result=True)
def confirm_delivered_orders() -> int:
    """Confirm orders delivered more than ``SHOP_AUTO_CONFIRM_DAYS`` days ago (Celery beat)."""
    return services.confirm_delivered_orders()
