"""The OpenAPI schema against the API itself: schemathesis loads ``/api/schema`` from the WSGI
application and, for every operation, sends requests it generates from the schema, valid and
invalid, over the demo shop, checking that none gets a 5xx and every answer matches the schema
(status code documented, body valid, content type, Allow header).

``make test`` runs a few examples per operation (``FUZZ_EXAMPLES``: 5, 50 in ``make test-long``);
docs/reliability.md gives the command for a longer run, docs/testing.md the sizes.

Generated ids are random numbers: half of the even ones are turned into ids of rows that exist
(``real_ids``), so requests reach the services and not only the 404 path.
"""

import hashlib
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test.utils import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.core.parameters import ParameterLocation

from fulfillment.models import Fulfillment
from orders.models import Order, OrderItem
from returns.models import Exchange, Return
from shop.api.collections import registry
from shop.models import ApiKey, Cart, Customer, Option, Product, Variant
from shop.wsgi import application
from tests import sizes

# A server's secret key (``Authorization: Bearer sk_…``), given to schemathesis as the schema's
# ``secretKey`` security scheme so that it neither generates nor mangles that header.
SECRET = "sk_fuzz_0123456789abcdef0123456789abcdef"
EXAMPLES = sizes.size("FUZZ_EXAMPLES", quick=5, long=50)

CONFIG = SchemathesisConfig.from_dict(
    {
        "auth": {"openapi": {"secretKey": {"bearer": SECRET}}},
        # Stateless: each operation on its own (the race and flow tests cover sequences).
        # The coverage phase (every boundary case the schema defines, valid and invalid, a few
        # hundred requests for an operation with many fields) runs in ``make test-long``;
        # ``make test`` runs the generated examples, valid and invalid, in a fifth of the time.
        "phases": {"stateful": {"enabled": False}, "coverage": {"enabled": sizes.LONG}},
        "checks": {
            # A schema cannot say that an id must exist, that stock must last or that a
            # refund needs a received return: a valid-looking request may be refused with a
            # 400 (or a 404/409); a login with made-up credentials is a 401 (429 once
            # throttled). Any other answer to valid data is still a failure.
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", 400, 401, 403, 404, 409, 429]
            },
        },
    }
)

with override_settings(ALLOWED_HOSTS=["localhost"]):  # schemathesis' WSGI client's host
    schema = schemathesis.openapi.from_wsgi("/api/schema?format=json", application, config=CONFIG)


@schema.hook
def filter_failure(context, failure, case, response) -> bool:
    """Keep every failure except "invalid data accepted" when only the query string was made
    invalid: a query string is all text, and schemathesis' invalid query values (a number for a
    text parameter, an empty array) often reach the wire as text the schema allows (its issues
    #2312 and #3056). The query rules are held by test_query_fuzz and test_bad_input instead."""
    if not isinstance(failure, AcceptedNegativeData) or case.meta is None:
        return True
    negative = {
        location for location, part in case.meta.components.items() if part.mode.is_negative
    }
    return negative != {ParameterLocation.QUERY}


# Body keys that name a row, and the model of that row.
RELATIONS = {
    "order": Order,
    "cart": Cart,
    "cartId": Cart,
    "customer": Customer,
    "product": Product,
    "variant": Variant,
    "option": Option,
    "replacementVariant": Variant,
    "replacementOption": Option,
    "orderItem": OrderItem,
    "fulfillment": Fulfillment,
    "return": Return,
    "exchange": Exchange,
}


def real_id(value, ids: list[int]):
    """An existing id for an even generated number (deterministic, so failures shrink)."""
    if isinstance(value, bool) or not isinstance(value, int) or value % 2 or not ids:
        return value
    return ids[(value // 2) % len(ids)]


def with_real_ids(value, ids: dict):
    if isinstance(value, list):
        return [with_real_ids(item, ids) for item in value]
    if isinstance(value, dict):
        return {
            key: real_id(item, ids[RELATIONS[key]])
            if key in RELATIONS
            else with_real_ids(item, ids)
            for key, item in value.items()
        }
    return value


@pytest.fixture
def real_ids(demo_shop, db, settings):
    settings.ALLOWED_HOSTS = ["localhost"]
    ApiKey.objects.create(
        name="fuzz",
        publishable_key="pk_fuzz",
        secret_prefix=SECRET[:12],
        secret_hash=hashlib.sha256(SECRET.encode()).hexdigest(),
    )
    ids = {model: list(model.objects.values_list("pk", flat=True)) for model in RELATIONS.values()}
    # The WSGI handler closes the database connection after each request; the test's
    # transaction lives on that connection, so keep it open (as Django's test client does).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield ids
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # The quick profile runs the same examples every time (a stable CI); the long one explores.
    derandomize=os.environ.get("HYPOTHESIS_PROFILE", "ci") != "long",
)
def test_every_operation_answers_as_its_schema_says(case, real_ids):
    parts = case.operation.path.strip("/").split("/")  # api, <slug>[, {id}[, timeline]]
    if "id" in (case.path_parameters or {}) and len(parts) > 2:
        model = registry.get(parts[1]).model
        ids = real_ids.get(model) or list(model.objects.values_list("pk", flat=True)[:50])
        case.path_parameters["id"] = real_id(case.path_parameters["id"], ids)
    if isinstance(case.body, dict | list):
        case.body = with_real_ids(case.body, real_ids)
    case.call_and_validate()
