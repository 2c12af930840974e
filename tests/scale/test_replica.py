"""A streaming replica on the real engine: the API's reads land on it, and whoever just wrote
reads their write at once.

The test makes its own PostgreSQL primary and a hot standby of it (``initdb``, then
``pg_basebackup -R``, on spare ports in a temporary folder), migrates the primary, and runs two
gunicorn servers behind HAProxy with ``DATABASE_URL`` on the primary and
``DATABASE_REPLICA_URL`` on the replica. Replay on the replica is paused with
``pg_wal_replay_pause()``: what is written then is on the primary only, so a read that finds it
came from the primary and a read that misses it came from the replica.
"""

import json
import uuid

import psycopg
import pytest

from bench.cluster import Balancer, Cluster
from tests.reliability.http import Http
from tests.scale.conftest import REDIS_URL, AppServers, manage, require, server_environment

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

SEED = """
import json
from shop.keys import create_api_key
from tests.api.shop_data import cart_with_options
from tests.factories import CustomerFactory

office = create_api_key(name="Back office").secret_key
reporting = create_api_key(name="Reporting").secret_key
storefront = create_api_key(name="Storefront")
customer = CustomerFactory(email="jiwoo@example.com")
carts = [cart_with_options(customer).pk for _ in range(3)]
print(json.dumps({"office": office, "reporting": reporting,
                  "storefront": storefront.key.publishable_key, "checkout": storefront.secret_key,
                  "email": customer.email, "carts": carts}))
"""
PASSWORD = "correct horse battery"  # the customer factory's


@pytest.fixture(scope="module")
def replicated(tmp_path_factory):
    """A primary and its replica, the shop migrated and seeded on the primary."""
    require(postgres=True, haproxy=True, redis=True)
    with Cluster() as made:
        with psycopg.connect(made.primary.dsn(), autocommit=True) as primary:
            primary.execute("CREATE DATABASE shop")
        env = server_environment(DATABASE_URL=made.primary.url("shop"), DEBUG="1")
        manage(env, "migrate", "--no-input")
        seeded = json.loads(manage(env, "shell", "-c", SEED).strip().splitlines()[-1])
        made.wait_for_replay()
        yield made, seeded


@pytest.fixture
def shop(replicated, redis_prefix, tmp_path):
    """Two servers behind HAProxy, reading from the replica."""
    made, seeded = replicated
    env = server_environment(
        DATABASE_URL=made.primary.url("shop"),
        DATABASE_REPLICA_URL=made.replica.url("shop"),
        REDIS_URL=REDIS_URL,
        CELERY_KEY_PREFIX=redis_prefix,
    )
    servers = AppServers(env, tmp_path).start()
    try:
        with Balancer(servers.ports) as balancer:
            yield made, seeded, balancer
    finally:
        servers.stop()
        replay(made, pause=False)
    assert not servers.tracebacks(), servers.tracebacks()


def replay(made: Cluster, *, pause: bool) -> None:
    with psycopg.connect(made.replica.dsn("shop"), autocommit=True) as standby:
        if pause:
            standby.execute("SELECT pg_wal_replay_pause()")
            # paused for real: nothing more is applied from here on
            for _ in range(200):
                state = standby.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()[0]
                if state == "paused":
                    return
            pytest.fail(f"replay did not pause: {state}")
        else:
            standby.execute("SELECT pg_wal_replay_resume()")


def orders_on(server, pk: int) -> int:
    with psycopg.connect(server.dsn("shop"), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM orders_order WHERE id = %s", [pk]).fetchone()[0]


def as_key(balancer: Balancer, secret: str) -> Http:
    return Http(f"http://127.0.0.1:{balancer.port}", secret)


def as_customer(balancer: Balancer, seeded: dict) -> Http:
    storefront = Http(f"http://127.0.0.1:{balancer.port}", "")
    storefront.headers = {"X-Publishable-Key": seeded["storefront"], "Accept": "application/json"}
    credentials = {"email": seeded["email"], "password": PASSWORD}
    login = storefront.post("/api/customers/login", credentials)
    assert login.status == 200, login.json
    storefront.headers["Authorization"] = f"JWT {login.json['token']}"
    return storefront


def test_reads_go_to_the_replica_and_a_customer_sees_their_order_at_once(shop):
    """The storefront's server checks the customer out (its secret key); the customer then reads
    with the storefront's publishable key and their token: the same key pair, so they see it."""
    made, seeded, balancer = shop
    office, reporting = as_key(balancer, seeded["office"]), as_key(balancer, seeded["reporting"])
    storefront_server = as_key(balancer, seeded["checkout"])
    customer = as_customer(balancer, seeded)
    assert reporting("GET", "/api/orders?limit=1").status == 200

    replay(made, pause=True)
    checkout = storefront_server.post(
        "/api/checkout", {"cartId": seeded["carts"][0], "paymentId": f"pay_{uuid.uuid4().hex}"}
    )
    assert checkout.status == 201, checkout.json
    order = checkout.json["doc"]["id"]
    assert (orders_on(made.primary, order), orders_on(made.replica, order)) == (1, 0)

    # The customer who wrote reads it at once, on whichever server: from the primary.
    for _ in range(4):
        mine = customer("GET", f"/api/orders/{order}")
        assert mine.status == 200, mine.json
        assert mine.json["status"] == "paid"
        listed = customer("GET", "/api/orders?depth=0")
        assert order in [doc["id"] for doc in listed.json["docs"]]
    # Another caller's plain read comes from the replica, which has not replayed it yet.
    for _ in range(4):
        assert reporting("GET", f"/api/orders/{order}").status == 404
        assert reporting("GET", "/api/orders/count").json["totalDocs"] == 0

    replay(made, pause=False)
    made.wait_for_replay()
    assert reporting("GET", f"/api/orders/{order}").json["status"] == "paid"

    # Caught up, the customer reads from the replica again: a change made while replay is
    # paused is not seen by them, while the back office that made it sees it.
    replay(made, pause=True)
    parcel = office.post("/api/fulfillments", {"order": order})
    assert parcel.status == 201, parcel.json
    assert office("GET", f"/api/orders/{order}").json["status"] == "preparing"
    assert customer("GET", f"/api/orders/{order}").json["status"] == "paid"
    replay(made, pause=False)
    made.wait_for_replay()
    assert customer("GET", f"/api/orders/{order}").json["status"] == "preparing"
    per_server = balancer.requests_per_server()
    assert all(server["requests"] > 0 for server in per_server.values()), per_server
    assert sum(server["5xx"] for server in per_server.values()) == 0, per_server


def test_writes_and_locking_reads_go_to_the_primary_while_the_replica_is_paused(shop):
    """Checkout locks stock rows (select_for_update) and writes: with replay paused and every
    plain read on a read-only standby, each still succeeds, once, on the primary."""
    made, seeded, balancer = shop
    office = as_key(balancer, seeded["office"])
    replay(made, pause=True)
    answers = [
        office.post("/api/checkout", {"cartId": cart, "paymentId": f"pay_{uuid.uuid4().hex}"})
        for cart in seeded["carts"][1:]
    ]
    assert [answer.status for answer in answers] == [201, 201], [a.json for a in answers]
    again = office.post("/api/checkout", {"cartId": seeded["carts"][1]})
    assert again.status == 409  # the cart's rule, read on the primary
    for answer in answers:
        assert orders_on(made.primary, answer.json["doc"]["id"]) == 1
        assert orders_on(made.replica, answer.json["doc"]["id"]) == 0
