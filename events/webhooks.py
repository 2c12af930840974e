"""Sending one event to one webhook endpoint, signed per the Standard Webhooks specification
(``webhook-id``, ``webhook-timestamp``, ``webhook-signature``; the ``standardwebhooks`` package)."""

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from standardwebhooks.webhooks import Webhook

EXCERPT = 500  # characters of a response kept in the delivery log
USER_AGENT = "shop-backoffice-webhooks/1"


@dataclass
class Outcome:
    ok: bool
    status: int | None
    excerpt: str
    duration_ms: int


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other (not followed): the endpoint's URL is wrong."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def signed_headers(secret: str, message_id: str, payload: str) -> dict[str, str]:
    moment = datetime.fromtimestamp(int(time.time()), UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, payload),
    }


def post(url: str, secret: str, message_id: str, payload: str) -> Outcome:
    """POST the payload; a 2xx answer is a delivery, anything else (or no answer within
    ``SHOP_WEBHOOK_TIMEOUT`` seconds) is a failed attempt."""
    headers = {
        **signed_headers(secret, message_id, payload),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    request = urllib.request.Request(url, data=payload.encode(), headers=headers, method="POST")
    started = time.monotonic()
    status, body = None, b""
    try:
        with _opener.open(request, timeout=settings.SHOP_WEBHOOK_TIMEOUT) as response:
            status, body = response.status, response.read(EXCERPT * 4)
    except urllib.error.HTTPError as error:
        status = error.code
        try:
            body = error.read(EXCERPT * 4)
        except OSError:
            body = b""
    except (OSError, ValueError) as error:  # refused, timed out, unresolvable, bad URL
        body = f"{type(error).__name__}: {error}".encode()
    duration = int((time.monotonic() - started) * 1000)
    excerpt = body.decode("utf-8", "replace")[:EXCERPT]
    ok = status is not None and 200 <= status < 300
    return Outcome(ok, status, excerpt, duration)
