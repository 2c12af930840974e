"""The load test (``tests/reliability/loadtest.py``) through a load balancer: HAProxy in front of
several gunicorn servers that share nothing but PostgreSQL (and Redis, when ``REDIS_URL`` is
set). Its clients, its shop and its bookkeeping check are the load test's own; only the address
they call changes. It prints the load test's figures, then what each server answered, and exits
non-zero on any 5xx, lost request, broken invariant, or a server that answered nothing.

    uv run python -m tests.scale.balanced --seconds 60 --servers 2

``--replica`` makes a PostgreSQL primary and a streaming replica of it (``bench/cluster.py``) and
runs the shop on them: the servers read the API from the replica, with read-your-writes (Redis at
``REDIS_URL``, default redis://127.0.0.1:6379/15, records who wrote).

``--pool`` lists, per server, whether it runs with psycopg's connection pool (``DATABASE_POOL=1``,
threaded workers, one pooled connection a thread) or with a persistent connection per sync
worker: ``--pool on,off`` (the default) runs one of each behind the same address.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path

from bench.cluster import Balancer, Cluster
from tests.reliability.loadtest import (
    ROOT,
    Client,
    Stats,
    admin_sql,
    broken_invariants,
    free_port,
    report,
    seed,
    server_url,
    start_gunicorn,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60, help="stop after this long")
    parser.add_argument("--max-requests", type=int, default=200_000, help="…or this many")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--servers", type=int, default=2, help="gunicorn servers behind HAProxy")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=4, help="threads a worker, with the pool")
    parser.add_argument("--pool", default="on,off", help="per server, in turn: on or off")
    parser.add_argument("--size", type=int, default=12, help="products and customers to seed")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the clients")
    parser.add_argument("--replica", action="store_true", help="a primary and a replica of it")
    args = parser.parse_args(argv)
    if not args.replica:
        return run(args, None)
    with Cluster() as cluster:
        return run(args, cluster)


def run(args: argparse.Namespace, cluster: Cluster | None) -> int:

    database = f"shop_scale_{secrets.token_hex(4)}"
    if cluster is not None:
        os.environ["DATABASE_URL"] = cluster.primary.url()
        os.environ["DATABASE_REPLICA_URL"] = cluster.replica.url(database)
        os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
        os.environ["CELERY_KEY_PREFIX"] = f"{database}:"
    url = server_url(database)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "shop.settings",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("GUNICORN_CMD_ARGS", None)
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY")})
    os.environ.update({k: env[k] for k in ("DEBUG", "ALLOWED_HOSTS", "LOG_LEVEL")})
    sys.path.insert(0, str(ROOT))
    import django

    pools = [p.strip() == "on" for p in args.pool.split(",") if p.strip()] or [False]
    admin_sql(f'CREATE DATABASE "{database}"')
    logs = Path(os.environ.get("TMPDIR", "/tmp")) / f"{database}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    servers, balancer, failed = [], None, True
    try:
        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        shop = seed(args.size)
        connections.close_all()
        if cluster is not None:
            cluster.wait_for_replay()
        described, ports = [], []
        for index in range(args.servers):
            pooled = pools[index % len(pools)]
            server_env = dict(env)
            if pooled:
                server_env["DATABASE_POOL"] = "1"
                server_env["DATABASE_POOL_MAX_SIZE"] = str(args.threads)
                server_env["GUNICORN_CMD_ARGS"] = f"--threads {args.threads}"
            port = free_port()
            log = logs / f"app{index + 1}.log"
            servers.append(start_gunicorn(server_env, port, args.workers, log))
            described.append(
                f"app{index + 1}: {args.workers} workers, "
                + (
                    f"{args.threads} threads each, pooled connections"
                    if pooled
                    else "sync, a persistent connection each"
                )
            )
            ports.append(port)
        balancer = Balancer(ports).start()

        replica_before = replica_reads(cluster, database) if cluster is not None else 0
        stats = Stats()
        started = time.monotonic()
        deadline = started + args.seconds

        def budget() -> bool:
            return time.monotonic() < deadline and stats.total < args.max_requests

        orders: list[int] = []
        lock = threading.Lock()
        master = random.Random(args.seed)
        clients = [
            Client(balancer.port, shop, stats, budget, random.Random(master.random()))
            for _ in range(args.clients)
        ]
        threads = [threading.Thread(target=c.run, args=(orders, lock)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        per_server = balancer.requests_per_server()

        report(stats, elapsed, args, args.size)
        if cluster is not None:
            ran = replica_reads(cluster, database) - replica_before
            print(f"replica: {ran} transactions (reads, and checks of how far it has replayed)")
        print(f"HAProxy on :{balancer.port}, {args.servers} servers:")
        for line, (name, served) in zip(described, sorted(per_server.items()), strict=True):
            print(f"  {name}: {served['requests']} requests, {served['5xx']} 5xx ({line})")
        broken = broken_invariants(shop)
        from orders.models import Order

        print(f"orders: {Order.objects.count()}; invariants: {'ok' if not broken else 'BROKEN'}")
        for line in broken[:30]:
            print(f"  {line}")
        tracebacks = sum(p.read_text(errors="replace").count("Traceback") for p in logs.iterdir())
        if tracebacks:
            print(f"the servers logged {tracebacks} traceback(s): {logs}")
        idle = [name for name, served in per_server.items() if not served["requests"]]
        if idle:
            print(f"servers that answered nothing: {', '.join(idle)}")
        lb_5xx = sum(served["5xx"] for served in per_server.values())
        failed = bool(stats.server_errors or stats.unexpected or broken or tracebacks or idle)
        failed = failed or bool(lb_5xx)
        return 1 if failed else 0
    finally:
        if balancer is not None:
            balancer.stop()
        for server in servers:
            if server.poll() is None:
                server.terminate()
        for server in servers:
            try:
                server.wait(30)
            except Exception:
                server.kill()
        from django.db import connections

        connections.close_all()
        admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        if cluster is not None:
            drop_keys(os.environ["REDIS_URL"], f"{database}:")
        if not failed:
            for path in logs.iterdir():
                path.unlink()
            logs.rmdir()


def replica_reads(cluster: Cluster, database: str) -> int:
    """Transactions the replica ran on the shop's database (each API read is at least one)."""
    import psycopg

    with psycopg.connect(cluster.replica.dsn(database), autocommit=True) as standby:
        return standby.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def drop_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


if __name__ == "__main__":
    sys.exit(main())
