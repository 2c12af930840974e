"""Scaling out on one machine: application servers behind HAProxy, a streaming replica, pooled
connections, measured on a PostgreSQL primary and replica the run makes itself.

    uv run python -m bench.scale --orders 20000

Steps (``bench/cluster.py`` makes the servers; the data and the measures are ``bench.run``'s):

1. A primary (``initdb``) and a streaming replica of it (``pg_basebackup -R``) on spare ports in
   a temporary folder; ``--orders`` orders generated on the primary (``bench.generate``), then
   waited for on the replica. The machine's own PostgreSQL is not used.
2. For each configuration (``--configs``), the product's gunicorn servers behind HAProxy:

   - ``1x4``: one server of 4 sync workers, every read on the primary (the baseline);
   - ``2x2``: two servers of 2 workers each behind the balancer, same total;
   - ``2x2-pool``: the same with psycopg's pool (``DATABASE_POOL=1``, 2 threads a worker);
   - ``2x2-replica``: two servers reading the API from the replica (``DATABASE_REPLICA_URL``,
     read-your-writes recorded in Redis).

   Each is measured for reads (``--clients`` threads for ``--seconds`` asking the benchmark's
   read endpoints in turn, server key, requests a second and the median) and for checkout
   (``bench.run``'s measure: fresh carts, concurrent clients, orders a second, 5xx, duplicates
   checked in the database). Where the replica was used, the run counts the transactions the
   replica and the primary ran during the reads.
3. The results go to ``bench/results/<date>-scale-<orders>.json`` with the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import signal
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.cluster import Balancer, Cluster
from bench.generate import database_url, django_url, generate
from bench.run import (
    RESULTS,
    Server,
    code_version,
    collect_static,
    create_api_key,
    free_port,
    machine,
    measure_checkout,
    pick_samples,
    read_endpoints,
    setup_django,
    start_gunicorn,
    stop,
)

CONFIGS = {
    "1x4": {"servers": 1, "workers": 4},
    "2x2": {"servers": 2, "workers": 2},
    "2x2-pool": {"servers": 2, "workers": 2, "pool": True},
    "2x2-replica": {"servers": 2, "workers": 2, "replica": True},
}


def transactions(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


def measure_read_throughput(
    address: Server, headers: dict, paths: list[str], *, clients: int, seconds: float
) -> dict:
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        index = offset
        while time.monotonic() < deadline:
            path = paths[index % len(paths)]
            index += 1
            try:
                answer = address.request("GET", path, headers=headers)
                status, took = answer.status, answer.seconds
            except OSError:
                status, took = 599, 0.0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(took)

    started = time.perf_counter()
    threads = [
        threading.Thread(target=client, args=(i * 7,)) for i in range(clients)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    total = sum(statuses.values())
    return {
        "clients": clients,
        "requests": total,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(total / elapsed, 1) if elapsed else 0,
        "median_ms": round(statistics.median(latencies) * 1000, 2) if latencies else None,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors_5xx": sum(v for k, v in statuses.items() if k >= 500),
    }


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    result: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code_version(),
        "orders": args.orders,
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "configs": {},
    }
    prefix = f"bench_scale_{secrets.token_hex(4)}:"
    with Cluster() as cluster:
        server = cluster.primary.dsn()
        print(f"Generating {args.orders} orders on the primary…", flush=True)
        generate(orders=args.orders, database="bench", server=server, log=lambda *_: None)
        cluster.wait_for_replay(timeout=600)
        primary_url = database_url(server, "bench")
        replica_url = database_url(cluster.replica.dsn(), "bench")
        env = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="shop.settings",
            DATABASE_URL=django_url(primary_url),
            DEBUG="0",
            SECRET_KEY=secrets.token_urlsafe(40),
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            LOG_LEVEL="ERROR",
            CONN_MAX_AGE="600",
            REDIS_URL=args.redis_url,
            CELERY_KEY_PREFIX=prefix,
            SHOP_CUSTOMER_EMAILS="false",
        )
        env.pop("DATABASE_REPLICA_URL", None)
        setup_django(env)

        collect_static()
        api_key, _note = create_api_key()
        headers = {"Authorization": f"Bearer {api_key}"}
        with psycopg.connect(primary_url) as conn:
            samples = pick_samples(conn, rng)
            cutoff = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            paths = [p for endpoint in read_endpoints(samples, cutoff) for p in endpoint.paths]
            cluster.wait_for_replay()
            for name in args.configs:
                config = CONFIGS[name]
                server_env = dict(env)
                if config.get("pool"):
                    server_env.update(
                        DATABASE_POOL="1", DATABASE_POOL_MAX_SIZE="2", CONN_MAX_AGE="0"
                    )
                    server_env["GUNICORN_CMD_ARGS"] = "--threads 2"
                if config.get("replica"):
                    server_env["DATABASE_REPLICA_URL"] = django_url(replica_url)
                servers = []
                try:
                    for index in range(config["servers"]):
                        servers.append(
                            start_gunicorn(
                                f"scale-{name}-{index + 1}",
                                "shop.wsgi:application",
                                free_port(),
                                server_env,
                                config["workers"],
                            )
                        )
                    with Balancer([s.port for s in servers]) as balancer:
                        address = Server("balancer", balancer.port)
                        for path in paths:  # warm every worker's compiled statements
                            address.get(path, headers)
                        print(f"{name}: reads…", flush=True)
                        before = (transactions(primary_url), transactions(replica_url))
                        reads = measure_read_throughput(
                            address, headers, paths, clients=args.clients, seconds=args.seconds
                        )
                        after = (transactions(primary_url), transactions(replica_url))
                        reads["primary_transactions"] = after[0] - before[0]
                        reads["replica_transactions"] = after[1] - before[1]
                        reads["load_average_1m"] = round(os.getloadavg()[0], 2)
                        print(f"{name}: checkout…", flush=True)
                        checkout = measure_checkout(
                            address,
                            headers,
                            conn,
                            rng,
                            carts=args.checkout_orders,
                            clients=args.clients,
                            seconds=args.seconds,
                        )
                        checkout["load_average_1m"] = round(os.getloadavg()[0], 2)
                        per_server = balancer.requests_per_server()
                    result["configs"][name] = {
                        **config,
                        "reads": reads,
                        "checkout": checkout,
                        "per_server": per_server,
                    }
                    print(
                        f"{name}: {reads['requests_per_second']} reads/s "
                        f"(median {reads['median_ms']} ms, {reads['errors_5xx']} 5xx), "
                        f"{checkout.get('orders_per_second')} checkouts/s "
                        f"({checkout.get('errors_5xx')} 5xx, "
                        f"{checkout.get('duplicates')} duplicates)",
                        flush=True,
                    )
                finally:
                    for started in servers:
                        stop(started)
        with psycopg.connect(cluster.primary.dsn(), autocommit=True) as conn:
            result["replication"] = conn.execute(
                "SELECT application_name, state, sync_state FROM pg_stat_replication"
            ).fetchall()
    _drop_keys(args.redis_url, prefix)
    result["machine"] = machine()
    return result


def _drop_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument(
        "--configs",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        default=list(CONFIGS),
        help=f"which of {', '.join(CONFIGS)}",
    )
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0, help="per measure")
    parser.add_argument("--checkout-orders", type=int, default=1500, help="carts per measure")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    # Stopped (SIGTERM), it still stops its servers and removes its cluster.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    unknown = set(args.configs) - set(CONFIGS)
    if unknown:
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{result['date'][:10]}-scale-{result['orders']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nRaw figures: {path}")
    return result


if __name__ == "__main__":
    main()
