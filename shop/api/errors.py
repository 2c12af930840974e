"""The API's one error shape, ``{"errors": [{"message", "name"?, "data"?}]}``, for every 4xx/5xx.

DRF calls ``exception_handler`` for anything a view raises: the domain's errors
(``shop.errors.DomainError`` and its subclasses), the API's own query and validation errors,
DRF's parse/permission/method errors, Django's 404 and model validation errors, and bugs (500,
details only in the log). What fails outside a view (a middleware) reaches ``server_error``,
Django's ``handler500``, which answers the same shape under ``/api/``.

The database failing is not a bug: a lost connection (the server restarted, a proxy dropped it)
is a 503 with ``Retry-After``, a statement cancelled by ``statement_timeout`` a 503 saying the
query took too long.
"""

import logging
import re
import sys

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, InterfaceError, OperationalError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response

from shop.db import is_retryable
from shop.errors import DomainError

logger = logging.getLogger("shop.api")

FORBIDDEN = "You are not allowed to perform this action."
NOT_FOUND = "Not Found"
INVALID_JSON = "Invalid JSON"
BAD_LOGIN = "The email or password provided is incorrect."
SERVER_ERROR = "Something went wrong."
DATABASE_UNAVAILABLE = "The database is unavailable; retry in a moment."
RETRY_AFTER_SECONDS = "1"

# SQLSTATEs of a connection that is gone or cannot be had: class 08 (connection exception),
# admin/crash shutdown, cannot connect now, too many connections.
LOST_CONNECTION_SQLSTATES = {"57P01", "57P02", "57P03", "53300"}
QUERY_CANCELED = "57014"  # statement_timeout (or a cancel request)


class APIError(Exception):
    """An error the API answers with as it is: status, message, name and data."""

    status_code = 400
    name: str | None = None

    def __init__(self, message: str, *, data=None, name: str | None = None, status=None):
        super().__init__(message)
        self.message = message
        self.data = data
        if name is not None:
            self.name = name
        if status is not None:
            self.status_code = status

    def body(self) -> dict:
        error: dict = {"message": self.message}
        if self.name:
            error["name"] = self.name
        if self.data is not None:
            error["data"] = self.data
        return {"errors": [error]}


class QueryError(APIError):
    """A ``where``/``sort``/paging parameter that cannot be run."""

    name = "QueryError"


def field_label(path: str) -> str:
    """A field's label as Payload makes one from its name (``toWords`` in
    ``packages/payload/src/utilities/formatLabels.ts``): ``trackingNumber`` → "Tracking Number";
    for a nested path, the last field's (``items.0.quantity`` → "Quantity")."""
    names = [part for part in str(path).split(".") if part and not part.isdigit()]
    if not names:
        return str(path)
    words = re.sub(r"(?=[A-Z])", " ", names[-1].replace("-", " ").replace("_", " ")).split()
    return " ".join(word[:1].upper() + word[1:] for word in words)


def with_labels(errors: list[dict]) -> list[dict]:
    """Each field error with its ``label`` (Payload's ValidationFieldError)."""
    return [
        {**error, "label": field_label(error["path"])}
        if error.get("path") and "label" not in error
        else error
        for error in errors
    ]


class ValidationError(APIError):
    """A body that cannot be written: ``data`` names the collection and each bad field, with
    its label; the message names the fields by label, as Payload's
    (``packages/payload/src/errors/ValidationError.ts``)."""

    name = "ValidationError"

    def __init__(self, collection: str, errors: list[dict], message: str | None = None):
        errors = with_labels(errors)
        labels = list(dict.fromkeys(e["label"] for e in errors if e.get("path")))
        if message is None:
            if len(labels) == 1:
                message = f"The following field is invalid: {labels[0]}"
            elif labels:
                message = f"The following fields are invalid: {', '.join(labels)}"
            else:
                message = errors[0]["message"] if errors else "Invalid data."
        super().__init__(message, data={"collection": collection, "errors": errors})

    @classmethod
    def one(cls, collection: str, path: str, message: str) -> "ValidationError":
        return cls(collection, [{"path": path, "message": message}])


class Forbidden(APIError):
    status_code = 403

    def __init__(self, message: str = FORBIDDEN):
        super().__init__(message)


class NotFound(APIError):
    status_code = 404

    def __init__(self, message: str = NOT_FOUND):
        super().__init__(message)


def domain_error_body(error: DomainError, collection: str | None) -> dict:
    """A service's refusal: its message first; a plain rule break also in the validation shape."""
    entry: dict = {"message": error.message, "name": error.name}
    if error.name == "ValidationError":
        data = {
            "collection": collection,
            "errors": with_labels([{"path": error.field or "", "message": error.message}]),
        }
        data.update(error.data)
        entry["data"] = data
    elif error.data or error.field:
        data = dict(error.data)
        if error.field and not isinstance(error.data.get("status"), str):
            data.setdefault("path", error.field)
        entry["data"] = data
    return {"errors": [entry]}


def error_response(status: int, message: str, name: str | None = None, data=None) -> Response:
    error: dict = {"message": message}
    if name:
        error["name"] = name
    if data is not None:
        error["data"] = data
    return Response({"errors": [error]}, status=status)


def database_failure(exc: BaseException | None) -> tuple[int, dict, dict] | None:
    """``(status, body, headers)`` when ``exc`` is the database failing (a lost connection, a
    statement timeout) rather than a bug; None otherwise."""
    if isinstance(exc, InterfaceError):  # Django's "connection already closed"
        sqlstate = None
    elif isinstance(exc, OperationalError):
        sqlstate = getattr(exc.__cause__, "sqlstate", None)
    else:
        return None
    if sqlstate == QUERY_CANCELED:
        seconds = settings.DATABASE_STATEMENT_TIMEOUT_MS / 1000
        message = (
            f"The query took longer than {seconds:g} s and was stopped; "
            "ask for less (a narrower where, a smaller limit) or retry later."
        )
        return 503, {"errors": [{"name": "QueryTimeout", "message": message}]}, {}
    if sqlstate is None or sqlstate.startswith("08") or sqlstate in LOST_CONNECTION_SQLSTATES:
        body = {"errors": [{"name": "DatabaseUnavailable", "message": DATABASE_UNAVAILABLE}]}
        return 503, body, {"Retry-After": RETRY_AFTER_SECONDS}
    return None


def database_failure_response(exc: BaseException) -> JsonResponse | None:
    """``database_failure`` as a response, for code outside DRF's views (middleware)."""
    failure = database_failure(exc)
    if failure is None:
        return None
    status, body, headers = failure
    logger.warning("Database failure answered with %s: %s", status, exc)
    return JsonResponse(body, status=status, headers=headers)


def server_error(request, *args, **kwargs):
    """Django's ``handler500``: what failed outside a view. Under ``/api/`` it answers in the
    API's shape (a database failure as a 503); elsewhere Django's own page."""
    if not request.path.startswith("/api/"):
        return defaults.server_error(request, *args, **kwargs)
    response = database_failure_response(sys.exc_info()[1])
    if response is not None:
        return response
    return JsonResponse({"errors": [{"message": SERVER_ERROR}]}, status=500)


def exception_handler(exc, context):
    view = context.get("view")
    collection = getattr(getattr(view, "collection", None), "slug", None)
    if isinstance(exc, APIError):
        return Response(exc.body(), status=exc.status_code)
    failure = database_failure(exc)
    if failure is not None:
        status, body, headers = failure
        logger.warning("Database failure answered with %s: %s", status, exc)
        return Response(body, status=status, headers=headers)
    if isinstance(exc, DomainError):
        return Response(domain_error_body(exc, collection), status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        return Response(django_validation_error(exc, collection).body(), status=400)
    if isinstance(exc, Http404 | ObjectDoesNotExist | drf.NotFound):
        return error_response(404, NOT_FOUND)
    if isinstance(exc, drf.ParseError | drf.UnsupportedMediaType):
        message = INVALID_JSON if isinstance(exc, drf.ParseError) else str(exc.detail)
        return error_response(exc.status_code, message)
    if isinstance(exc, drf.AuthenticationFailed):
        return error_response(401, BAD_LOGIN)
    if isinstance(exc, drf.NotAuthenticated | drf.PermissionDenied | DjangoPermissionDenied):
        return error_response(403, FORBIDDEN)
    if isinstance(exc, ProtectedError | RestrictedError):
        return error_response(
            409,
            "This document is still referenced by others and cannot be deleted.",
            "Conflict",
        )
    if isinstance(exc, IntegrityError):
        logger.warning("Integrity error answered with 409: %s", exc)
        return error_response(409, "The change conflicts with existing data.", "Conflict")
    if isinstance(exc, DataError):
        # A value the column cannot hold (a number out of range, bad text): the input's fault.
        logger.warning("Data error answered with 400: %s", exc)
        message = "A value is out of range or cannot be stored."
        return error_response(400, message, "ValidationError")
    if isinstance(exc, OperationalError) and is_retryable(exc):
        # Still deadlocked or not serializable after the service's own retries.
        logger.warning("Concurrency failure answered with 409: %s", exc)
        response = error_response(
            409, "The data changed at the same time as this request; retry it.", "Conflict"
        )
        response["Retry-After"] = "1"
        return response
    if isinstance(exc, drf.APIException):
        detail = exc.detail
        message = detail if isinstance(detail, str) else str(detail)
        response = error_response(exc.status_code, message)
        if getattr(exc, "wait", None):
            response["Retry-After"] = str(int(exc.wait))
        return response
    logger.exception("Unhandled error in the API", exc_info=exc)
    return error_response(500, SERVER_ERROR)


def django_validation_error(exc: DjangoValidationError, collection: str | None):
    """Model validation (``full_clean``) in the API's validation shape."""
    names = getattr(exc, "api_names", {})
    errors = []
    if hasattr(exc, "error_dict"):
        for column, messages in exc.message_dict.items():
            path = "" if column == "__all__" else names.get(column, column)
            errors.extend({"path": path, "message": m} for m in messages)
    else:
        errors = [{"path": "", "message": m} for m in exc.messages]
    return ValidationError(collection or "", errors)
