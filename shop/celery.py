"""The Celery application: workers relay the outbox, deliver webhooks and emails, and run
background work (``make worker``; ``make beat`` for the schedule). Configured from Django's
settings (``CELERY_*``); without ``CELERY_BROKER_URL``/``REDIS_URL`` tasks run in-process."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
