"""Read statements compiled once per shape (``shop.statements``): the same answers as the ORM,
the caller's scope kept apart in the shape, nothing kept between calls but the SQL, and on
PostgreSQL one statement text (prepared once per connection) whatever the values."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderStatus
from shop import statements
from shop.api.query import JoinOptions
from tests.auth.world import build_world
from tests.factories import CustomerFactory
from tests.helpers import place_order

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.postgres


@pytest.fixture(autouse=True)
def fresh_shapes():
    """Every test compiles its shapes itself (the cache is per process)."""
    statements.forget()
    yield
    statements.forget()


def prepared(pattern: str) -> int:
    """How many statements this connection has prepared whose text matches ``pattern``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [pattern]
        )
        return cursor.fetchone()[0]


def orders_of(customer_id):
    return Order.objects.filter(customer_id=customer_id).order_by("-id").values("id", "status")


def test_a_shape_runs_again_with_other_values_and_answers_as_the_orm():
    first, second = CustomerFactory(), CustomerFactory()
    mine = [place_order(customer=first) for _ in range(2)]
    theirs = [place_order(customer=second)]
    for customer, expected in ((first, mine), (second, theirs), (first, mine)):
        rows = statements.fetch(orders_of, [customer.pk])
        assert [row["id"] for row in rows] == sorted((o.pk for o in expected), reverse=True)
        assert rows == list(orders_of(customer.pk))


def test_limit_and_offset_are_values_of_the_statement():
    customer = CustomerFactory()
    orders = sorted((place_order(customer=customer).pk for _ in range(5)), reverse=True)
    pages = [
        [row["id"] for row in statements.fetch(orders_of, [customer.pk], **slice_)]
        for slice_ in (
            {"limit": 2, "offset": 0},
            {"limit": 2, "offset": 2},
            {"limit": 2, "offset": 4},
        )
    ]
    assert pages == [orders[0:2], orders[2:4], orders[4:]]


@postgres_only
def test_one_statement_text_for_any_number_of_ids():
    orders = [place_order() for _ in range(4)]

    def by_ids(ids):
        return Order.objects.filter(pk__any_of=ids).order_by("id").values("id", "currency")

    before = prepared('%"orders_order"."currency"%= ANY($1)%')
    texts = []
    for ids in ([orders[0].pk], [o.pk for o in orders], [orders[1].pk, orders[3].pk]):
        with CaptureQueriesContext(connection) as captured:
            rows = statements.fetch(by_ids, [ids])
        assert [row["id"] for row in rows] == sorted(ids)
        (query,) = captured.captured_queries
        texts.append(query["sql"])
    # The log shows each statement with its values, like any other query.
    assert str(orders[3].pk) in texts[1] and str(orders[3].pk) not in texts[0]
    # One statement, prepared once, for the three lengths.
    assert prepared('%"orders_order"."currency"%= ANY($1)%') == before + 1


def test_any_of_matches_in():
    orders = [place_order(customer=CustomerFactory()) for _ in range(3)]
    ids = [orders[0].pk, orders[2].pk]
    assert set(Order.objects.filter(pk__any_of=ids)) == set(Order.objects.filter(pk__in=ids))
    assert list(Order.objects.filter(pk__any_of=[])) == []
    assert set(Order.objects.filter(customer__any_of=[orders[1].customer_id])) == {orders[1]}


def test_a_value_the_orm_rewrites_is_never_reused_as_a_stand_in():
    """``contains`` wraps the value in ``%…%``: the shape cannot take new values, so it runs
    through the ORM every time, with the right answers."""
    customer = CustomerFactory(name="Seo Jiwoo")
    order = place_order(customer=customer)
    Order.objects.filter(pk=order.pk).update(customer_name="Seo Jiwoo")
    other = place_order()

    def named(word):
        return Order.objects.filter(customer_name__icontains=word).values("id")

    before = prepared('%"customer_name"%') if connection.vendor == "postgresql" else 0
    assert [r["id"] for r in statements.fetch(named, ["jiwoo"])] == [order.pk]
    assert statements.fetch(named, ["nobody"]) == []
    assert other.pk not in {r["id"] for r in statements.fetch(named, ["Seo"])}
    if connection.vendor == "postgresql":  # run by the ORM: nothing prepared
        assert prepared('%"customer_name"%') == before


@postgres_only
@pytest.mark.parametrize("verify", [True, False])
def test_sql_that_depends_on_a_value_is_not_reused(settings, verify):
    """A shape whose SQL changes with a value (here: the direction of the order) never reuses
    SQL, with or without the verify mode."""
    settings.SHOP_STATEMENTS_VERIFY = verify
    ids = sorted(place_order().pk for _ in range(2))

    def odd(flag_order):
        column = "id" if flag_order % 2 else "-id"
        return Order.objects.filter(pk__in=ids).order_by(column).values("id")

    for flag, expected in ((1, ids), (2, ids[::-1]), (3, ids), (4, ids[::-1])):
        assert [row["id"] for row in statements.fetch(odd, [flag])] == expected


@postgres_only
def test_verify_mode_catches_a_key_that_misses_what_the_sql_depends_on(settings, monkeypatch):
    """A key function that drops the query (every shape of the same database shares one key)
    would serve the first statement to every later query: the verify mode, on in the whole
    suite, raises instead; without it the wrong rows come back, which is what it guards."""
    mine, theirs = CustomerFactory(), CustomerFactory()
    order = place_order(customer=mine)
    place_order(customer=theirs)

    def of_customer(customer_id):
        return Order.objects.filter(customer_id=customer_id).order_by("id").values("id")

    def by_id(pk):
        return Order.objects.filter(pk=pk).order_by("id").values("id")

    real_key = statements.shape_key
    monkeypatch.setattr(statements, "shape_key", lambda query, using: real_key(query, using)[:2])
    assert [row["id"] for row in statements.fetch(of_customer, [mine.pk])] == [order.pk]
    with pytest.raises(statements.StatementMismatch, match="another statement"):
        statements.fetch(by_id, [order.pk])
    with pytest.raises(statements.StatementMismatch):
        statements.count(lambda pk: by_id(pk).values("pk"), [order.pk])

    settings.SHOP_STATEMENTS_VERIFY = False
    # Unverified, the id goes into the first query's statement: the customer's orders come back.
    assert statements.fetch(by_id, [theirs.pk]) == list(of_customer(theirs.pk))


@postgres_only
def test_verify_mode_fails_a_request_served_the_wrong_statement(monkeypatch, http_client, caplog):
    """Through the API: with a key that drops the query, the second collection's document
    would be read with the first one's statement; the request fails (a 500, the mismatch in
    the log) instead of answering another collection's row."""
    order = place_order(customer=CustomerFactory())
    real_key = statements.shape_key
    monkeypatch.setattr(statements, "shape_key", lambda query, using: real_key(query, using)[:2])
    assert http_client.get(f"/api/orders/{order.pk}?depth=0&joins=false").status_code == 200
    answer = http_client.get(f"/api/customers/{order.customer_id}?depth=0")
    assert answer.status_code == 500
    assert answer.json() == {"errors": [{"message": "Something went wrong."}]}
    errors = [r.exc_info[0] for r in caplog.records if r.exc_info]
    assert statements.StatementMismatch in errors


def test_a_scope_with_no_rows_runs_no_query(django_assert_num_queries):
    place_order()
    with django_assert_num_queries(0):
        assert statements.fetch(lambda: Order.objects.none().values("id")) == []
        assert statements.count(lambda: Order.objects.none().values("pk")) == 0


def test_count_matches_the_orm():
    paid = [place_order() for _ in range(3)]
    place_order(paid=False)

    def in_status(status):
        return Order.objects.filter(status=status).values("pk")

    assert statements.count(in_status, [OrderStatus.PAID]) == len(paid)
    assert statements.count(in_status, [OrderStatus.PENDING]) == 1
    assert statements.count(in_status, [OrderStatus.CANCELED]) == 0


def test_where_shapes_round_trip_and_keep_literals_in_the_shape():
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    where = (Q(status="paid") & Q(created_at__lt=moment)) | ~Q(customer__isnull=True)
    where &= Q(pk__in=[3, 4, 5])
    shape, values = statements.q_shape(where)
    assert values == ["paid", moment, 3, 4, 5]
    assert statements.q_from_shape(shape, values) == where
    other = statements.q_from_shape(shape, ["failed", moment + timedelta(days=1), 6, 7, 8])
    assert statements.q_shape(other)[0] == shape
    # None, booleans and the number of values of an ``in`` are part of the shape.
    assert statements.q_shape(Q(customer=None))[0] != statements.q_shape(Q(customer=1))[0]
    assert statements.q_shape(Q(pk__in=[1]))[0] != statements.q_shape(Q(pk__in=[1, 2]))[0]
    # Anything but plain values cannot be a shape.
    assert statements.q_shape(Q(pk=Order.objects.values("pk")[:1])) is None
    assert statements.q_shape(Q(pk=2**40)) is None


def test_callers_never_share_rows_through_a_reused_statement():
    """The same request shape from two customers, alternating: each sees only their own."""
    world = build_world()
    for _ in range(2):
        for owner in (world.a, world.b):
            caller = "customer_a" if owner is world.a else "customer_b"
            client = world.client(caller)
            own = {owner.delivered.pk, owner.pending.pk, owner.paid.pk}
            listed = client.get("/api/orders?where[id][greater_than]=0&depth=1").json()
            assert {doc["id"] for doc in listed["docs"]} == own
            assert {doc["customer"]["id"] for doc in listed["docs"]} == {owner.customer.pk}
            other = world.other(caller).delivered
            assert client.get(f"/api/orders/{other.pk}").status_code == 404
            mine = client.get(f"/api/orders/{owner.delivered.pk}?depth=1").json()
            assert {d["id"] for d in mine["items"]["docs"]} == {owner.line.pk}
            items = client.get(f"/api/order-items?where[order][equals]={other.pk}").json()
            assert items["docs"] == []
    server = world.client("server")
    every = server.get("/api/orders?where[id][greater_than]=0&limit=100").json()
    assert {world.a.delivered.pk, world.b.delivered.pk} <= {doc["id"] for doc in every["docs"]}


@postgres_only
def test_statements_are_prepared_once_per_connection(settings):
    customer = CustomerFactory()
    place_order(customer=customer)
    pattern = '%"orders_order"."customer_id" = $1%'

    before = prepared(pattern)
    for _ in range(3):
        statements.fetch(orders_of, [customer.pk])
    assert prepared(pattern) == before + 1

    settings.DATABASE_PREPARED_STATEMENTS = False
    statements.forget()

    def unprepared(customer_id):
        return Order.objects.filter(customer_id=customer_id).values("id", "total_amount")

    with CaptureQueriesContext(connection) as captured:
        rows = statements.fetch(unprepared, [customer.pk])
    assert len(rows) == 1 and len(captured) == 1
    assert prepared(pattern) == before + 1


@postgres_only
def test_execute_wrappers_and_broken_transactions_apply_to_statements_too():
    from django.db import DatabaseError, transaction

    customer = CustomerFactory()
    place_order(customer=customer)
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert len(statements.fetch(orders_of, [customer.pk])) == 1
    assert len(seen) == 1 and '"orders_order"' in seen[0]

    with pytest.raises(transaction.TransactionManagementError), transaction.atomic():
        with (
            pytest.raises(DatabaseError),
            transaction.atomic(savepoint=False),
            connection.cursor() as cursor,
        ):
            cursor.execute("SELECT 1/0")
        statements.fetch(orders_of, [customer.pk])


def _drop_server_side(conn) -> None:
    """Have PostgreSQL end this connection, as a restart or a proxy would."""
    import psycopg

    params = conn.get_connection_params()
    wanted = {k: params[k] for k in ("dbname", "user", "host", "port", "password") if k in params}
    pid = conn.connection.info.backend_pid
    with psycopg.connect(**wanted, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_first_statement_of_a_request_is_its_own_health_check(monkeypatch):
    """A broken connection is reopened and the statement run again, as Django's health check
    would have done, without a ``SELECT 1`` before every request's first statement."""
    customer = CustomerFactory()
    place_order(customer=customer)
    connection.ensure_connection()
    assert connection.health_check_enabled  # CONN_HEALTH_CHECKS, as the product runs
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)

    connection.health_check_done = False  # a new request
    _drop_server_side(connection)
    rows = statements.fetch(orders_of, [customer.pk])
    assert [row["id"] for row in rows] == list(orders_of(customer.pk).values_list("id", flat=True))
    assert connection.health_check_done and checks == []

    connection.health_check_done = False  # the next request, on a healthy connection
    assert len(statements.fetch(orders_of, [customer.pk])) == 1
    assert checks == []


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_connection_is_checked_first(monkeypatch):
    from django.db import transaction

    customer = CustomerFactory()
    place_order(customer=customer)
    connection.ensure_connection()
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_done = False
    with transaction.atomic():
        assert len(statements.fetch(orders_of, [customer.pk])) == 1
    assert checks == [1]


def test_the_same_request_again_compiles_nothing_new(http_client):
    """Every statement of a request is found again by the next one of the same shape, with
    other values: nothing in a key changes from call to call (an expression's own output
    field, what the ORM caches on a column on first use)."""
    customer = CustomerFactory()
    first, second = (place_order(customer=customer, quantities=(1, 2)) for _ in range(2))
    paths = [
        "/api/orders?where[customer][equals]={customer}&depth=0&limit=10",
        "/api/orders?where[customer][equals]={customer}&depth=1&limit=10",
        "/api/orders/{order}?depth=1",
        "/api/orders/{order}?depth=0",
        "/api/order-items?where[order][equals]={order}&depth=1",
    ]
    for path in paths:
        answer = http_client.get(path.format(customer=customer.pk, order=first.pk))
        assert answer.status_code == 200
        compiled = statements.cached_statements()
        again = http_client.get(path.format(customer=customer.pk, order=second.pk))
        assert again.status_code == 200
        assert statements.cached_statements() == compiled, path


def test_freeze_tells_values_apart_by_every_field_and_type():
    same = statements.freeze(JoinOptions(limit=10, sort=["-createdAt"]))
    assert statements.freeze(JoinOptions(limit=10, sort=["-createdAt"])) == same
    for other in (
        JoinOptions(limit=10, sort=["createdAt"]),
        JoinOptions(limit=10, sort=["-createdAt"], count=True),
        JoinOptions(limit=10, sort=["-createdAt"], where=Q(status="paid")),
    ):
        assert statements.freeze(other) != same
    assert statements.freeze((1, "a", None)) != statements.freeze((True, "a", None))
    assert statements.freeze([1.0]) != statements.freeze([1])
    assert statements.freeze({"a": [1]}) != statements.freeze({"a": (1,)})
    with pytest.raises(statements.Unfrozen):
        statements.freeze(object())


@dataclasses.dataclass
class One:
    value: object


@dataclasses.dataclass
class Empty:
    pass


def test_freeze_reads_dataclasses_of_one_field_and_of_none():
    assert statements.freeze(One(1)) == statements.freeze(One(1)) != statements.freeze(One(2))
    assert statements.freeze(One((1,))) != statements.freeze(One(1))  # the value, not a tuple
    assert statements.freeze(One(Empty())) == statements.freeze(One(Empty()))
    assert statements.freeze(Empty()) != statements.freeze(One(None))
