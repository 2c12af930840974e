"""Events benchmark: checkout throughput with the outbox on and off, and how many events one
Celery worker delivers a second.

    uv run python -m bench.events --orders 20000 --generate    # build a small db, then measure
    uv run python -m bench.events --database bench             # on a database bench.run built

Needs Redis (``--redis-url``, default ``redis://127.0.0.1:6379/0``; every key it writes has a
prefix of its own and is removed at the end). Steps:

1. Checkout throughput, as ``bench.run`` measures it (gunicorn, concurrent clients, fresh carts),
   with ``SHOP_EVENTS`` off and on, in pairs run back to back (off then on, then on then off…)
   so load drifting on the machine hits both alike; the ratio is the median of the pairs'. No
   worker runs meanwhile, so only what a change itself pays is measured (the
   outbox rows, and asking the broker for a relay after the commit).
2. The events those checkouts wrote wait in the outbox, bound for one webhook endpoint (a local
   receiver answering 200). One worker (``celery worker``, ``--concurrency`` processes) is
   started and the deliveries are timed from the first to the last one received. Customer
   emails are off for the measure, so every event is one webhook delivery.
3. With ``--worker-processes 1,2,4`` (``--workers`` is already gunicorn's), the same events
   are delivered again by that many worker processes at once (``celery worker -c 1`` each, as
   separate machines' workers would be): the run's deliveries are removed and its events put
   back in the outbox, a relay is asked for, the workers start, and the deliveries are timed
   as above. Deliveries a second against processes shows where the database (claiming and
   recording each delivery) becomes the limit; each measure notes the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

from bench.generate import DEFAULT_SERVER, database_url, django_url, generate
from bench.run import (
    DEFAULT_WORKERS,
    RESULTS,
    ROOT,
    code_version,
    collect_static,
    create_api_key,
    machine,
    measure_checkout,
    setup_django,
    start_gunicorn,
    stop,
)


class Receiver:
    """Answers 200 to every POST and notes when each arrived."""

    def __init__(self):
        self.arrivals: list[float] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.arrivals.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_worker(env: dict, concurrency: int, name: str = "bench") -> subprocess.Popen:
    log = open(Path(tempfile.gettempdir()) / f"bench-worker-{name}.log", "w")  # noqa: SIM115
    command = [sys.executable, "-m", "celery", "-A", "shop", "worker", "-l", "warning"]
    command += ["-c", str(concurrency), "--without-gossip", "--without-mingle"]
    command += ["-n", f"{name}@%h"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    log.close()
    return process


def measure_delivery(
    env: dict, receiver: Receiver, concurrency: int, timeout: float, processes: int = 0
) -> dict:
    """Start one worker of ``concurrency`` processes (or ``processes`` workers of one process
    each) and time the deliveries of what waits in the outbox."""
    from events.models import Delivery, DeliveryStatus, OutboxEvent

    events = OutboxEvent.objects.filter(relayed_at__isnull=True).count()
    with receiver.lock:
        receiver.arrivals.clear()
    started = time.monotonic()
    if processes:
        workers = [start_worker(env, 1, f"bench{i + 1}") for i in range(processes)]
    else:
        workers = [start_worker(env, concurrency)]
    try:
        deadline = started + timeout
        while time.monotonic() < deadline:
            waiting = OutboxEvent.objects.filter(relayed_at__isnull=True).count()
            pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
            if not waiting and not pending:
                break
            time.sleep(0.5)
        finished = time.monotonic()
        load = round(os.getloadavg()[0], 2)
    finally:
        for worker in workers:
            os.killpg(worker.pid, 9)
        for worker in workers:
            worker.wait(30)
    delivered = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count()
    arrivals = sorted(receiver.arrivals)
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0
    return {
        "events": events,
        "deliveries": delivered,
        "received": len(arrivals),
        "worker_concurrency": concurrency,
        **({"worker_processes": processes} if processes else {}),
        "load_average_1m": load,
        "first_to_last_seconds": round(span, 2),
        "deliveries_per_second": round((len(arrivals) - 1) / span, 1) if span else None,
        # Including the worker's start and the relay of the outbox before the first delivery.
        "from_worker_start_seconds": round(finished - started, 2),
        "all_delivered": delivered == Delivery.objects.count() and delivered > 0,
    }


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    if args.generate:
        generate(orders=args.orders, database=args.database, server=args.server)
    url = database_url(args.server, args.database)
    prefix = f"bench_{secrets.token_hex(4)}:"
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="shop.settings",
        DATABASE_URL=django_url(url),
        DEBUG="0",
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(40),
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        LOG_LEVEL="ERROR",
        CONN_MAX_AGE="600",
        REDIS_URL=args.redis_url,
        CELERY_BROKER_URL=args.redis_url,
        CELERY_KEY_PREFIX=prefix,
        SHOP_CUSTOMER_EMAILS="false",
    )
    setup_django(env)
    from django.core.management import call_command

    from events.models import Delivery, OutboxEvent, WebhookEndpoint

    call_command("migrate", verbosity=0)
    collect_static()
    # Only this run's events are delivered: what earlier runs left is marked relayed.
    OutboxEvent.objects.filter(relayed_at__isnull=True).update(relayed_at=datetime.now(UTC))
    first_event = (OutboxEvent.objects.order_by("-pk").values_list("pk", flat=True).first()) or 0
    api_key, _note = create_api_key()
    headers = {"Authorization": f"Bearer {api_key}"}
    receiver = Receiver()
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, description="bench receiver")
    result: dict = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code_version(),
        "database": args.database,
    }
    runs: dict[str, list[dict]] = {"off": [], "on": []}
    try:
        with psycopg.connect(url) as conn:
            result["orders"] = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
            # Pairs in turn (off, on), (on, off)…: a load that drifts hits both sides alike.
            order = [("off", "on") if i % 2 == 0 else ("on", "off") for i in range(args.rounds)]
            for mode in [mode for pair in order for mode in pair]:
                server = start_gunicorn(
                    f"events-{mode}",
                    "shop.wsgi:application",
                    _free_port(),
                    {**env, "SHOP_EVENTS": "true" if mode == "on" else "false"},
                    args.workers,
                )
                try:
                    print(f"Checkout with events {mode}…", flush=True)
                    runs[mode].append(
                        measure_checkout(
                            server,
                            headers,
                            conn,
                            rng,
                            carts=args.checkout_orders,
                            clients=args.clients,
                            seconds=args.checkout_seconds,
                        )
                    )
                finally:
                    stop(server)
        off = [r["orders_per_second"] for r in runs["off"]]
        on = [r["orders_per_second"] for r in runs["on"]]
        result["checkout"] = {
            "events_off_orders_per_second": off,
            "events_on_orders_per_second": on,
            # Each pair's ratio (the two ran back to back), and their median.
            "pair_ratios": [round(b / a, 3) for a, b in zip(off, on, strict=True)],
            "ratio_on_to_off": round(
                statistics.median(b / a for a, b in zip(off, on, strict=True)), 3
            ),
            "errors_5xx": sum(r["errors_5xx"] for r in runs["off"] + runs["on"]),
            "duplicates": sum(r["duplicates"] for r in runs["off"] + runs["on"]),
            "clients": args.clients,
            "gunicorn_workers": args.workers,
        }
        print("Delivering with one worker…", flush=True)
        result["delivery"] = measure_delivery(env, receiver, args.concurrency, args.timeout)
        if args.worker_processes:
            result["delivery_by_processes"] = []
            for processes in args.worker_processes:
                print(f"Delivering again with {processes} worker process(es)…", flush=True)
                deliver_again(endpoint, first_event)
                result["delivery_by_processes"].append(
                    measure_delivery(env, receiver, 1, args.timeout, processes=processes)
                )
    finally:
        Delivery.objects.filter(endpoint=endpoint).delete()
        endpoint.delete()
        receiver.close()
        _drop_keys(args.redis_url, prefix)
    result["machine"] = machine()
    return result


def deliver_again(endpoint, first_event: int) -> None:
    """This run's events back in the outbox with no deliveries, and a relay asked for."""
    from events.models import Delivery, OutboxEvent
    from events.tasks import relay

    Delivery.objects.filter(endpoint=endpoint).delete()
    OutboxEvent.objects.filter(pk__gt=first_event).update(relayed_at=None)
    relay.delay()


def _free_port() -> int:
    from bench.run import free_port

    return free_port()


def _drop_keys(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=20_000, help="for --generate")
    parser.add_argument("--generate", action="store_true", help="(re)build the database first")
    parser.add_argument("--database", default="bench_events")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER_URL", DEFAULT_SERVER))
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    )
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn workers")
    parser.add_argument("--clients", type=int, default=8, help="concurrent checkout clients")
    parser.add_argument("--checkout-orders", type=int, default=400, help="carts per run")
    parser.add_argument("--checkout-seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=6, help="off/on pairs")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="the worker's processes"
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="for the deliveries")
    parser.add_argument(
        "--worker-processes",
        type=lambda text: [int(n) for n in text.split(",") if n.strip()],
        default=[],
        help="deliver again with this many worker processes, e.g. 1,2,4",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = run(args)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{result['date'][:10]}-events-{result['orders']}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    shown = ("checkout", "delivery", "delivery_by_processes")
    print(json.dumps({k: result[k] for k in shown if k in result}, indent=2))
    print(f"\nRaw figures: {path}")
    return result


if __name__ == "__main__":
    main()
