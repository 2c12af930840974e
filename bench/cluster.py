"""Throw-away PostgreSQL servers and a load balancer, for the scaling tests and benchmark.

- ``Cluster``: a primary made with ``initdb`` and a streaming replica of it made with
  ``pg_basebackup -R`` (a hot standby), each on a spare port, in a temporary folder; stopped and
  removed afterwards. The machine's own cluster is never touched. As root, the servers run as
  the ``postgres`` user (``initdb`` refuses root).
- ``Balancer``: HAProxy on a spare port in front of several application servers (round robin,
  each request on its own), with its statistics (requests and 5xx answers per server) on another.

Where the binaries are: PostgreSQL's from ``PG_BINDIR``, else the newest
``/usr/lib/postgresql/<version>/bin`` that has them, else ``pg_config --bindir``; HAProxy's
from ``PATH`` (and ``/usr/sbin``). ``missing()`` names what is not there.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

POSTGRES_TOOLS = ("initdb", "pg_ctl", "pg_basebackup")


def _version_key(path: Path) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in path.parent.name.split("."))


def postgres_bindir() -> Path | None:
    """The folder of PostgreSQL's server programs, or None."""
    candidates: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(Path(os.environ["PG_BINDIR"]))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True)
        if found.returncode == 0:
            candidates.append(Path(found.stdout.strip()))
    for folder in candidates:
        if all((folder / tool).is_file() for tool in POSTGRES_TOOLS):
            return folder
    return None


def haproxy_path() -> str | None:
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")


def missing(*, postgres: bool = False, haproxy: bool = False) -> str | None:
    """What is missing to run a cluster or a balancer, in words; None when nothing is."""
    if postgres and postgres_bindir() is None:
        return (
            "PostgreSQL's server programs (initdb, pg_ctl, pg_basebackup) were not found in "
            "/usr/lib/postgresql/*/bin or PG_BINDIR (Debian: apt-get install postgresql)"
        )
    if postgres and os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    if haproxy and haproxy_path() is None:
        return "haproxy was not found (Debian: apt-get install haproxy)"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# PostgreSQL: a primary and its streaming replica


@dataclass
class Server:
    name: str
    data: Path
    port: int

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"


class Cluster:
    """A primary and ``replicas`` streaming replicas (``with Cluster() as cluster: …``)."""

    def __init__(self, replicas: int = 1, settings: dict | None = None):
        self.bindir = postgres_bindir()
        if self.bindir is None:
            raise RuntimeError(missing(postgres=True))
        self.as_postgres = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="shop-cluster-"))
        self.settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "wal_level": "replica",
            "max_wal_senders": "10",
            "hot_standby": "on",
            # A standby answers reads while it replays; queries it cancels for replay are
            # retried by nobody, so let replay wait for them a little instead.
            "max_standby_streaming_delay": "5s",
            "max_connections": "200",
            "log_min_messages": "warning",
            **(settings or {}),
        }
        self.primary: Server | None = None
        self.replicas: list[Server] = []
        self.replica_count = replicas

    # -- running the server programs

    def _run(self, tool: str, *args: str, timeout: float = 120) -> str:
        command = [str(self.bindir / tool), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr or done.stdout}")
        return done.stdout

    def _configure(self, server: Server) -> None:
        settings = {**self.settings, "port": server.port}
        lines = [f"{key} = {value}" for key, value in settings.items()]
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# shop scaling cluster\n" + "\n".join(lines) + "\n")

    def _start(self, server: Server) -> None:
        log = self.root / f"{server.name}.log"
        self._run("pg_ctl", "-D", str(server.data), "-l", str(log), "-w", "-t", "120", "start")

    # -- the cluster

    def start(self) -> Cluster:
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        try:
            primary = Server("primary", self.root / "primary", free_port())
            self._run(
                "initdb",
                "-D",
                str(primary.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )
            self._configure(primary)
            self._start(primary)
            self.primary = primary
            for index in range(self.replica_count):
                replica = Server(f"replica{index + 1}", self.root / f"replica{index + 1}", 0)
                self._run(
                    "pg_basebackup",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(primary.port),
                    "-U",
                    "postgres",
                    "-D",
                    str(replica.data),
                    "-R",  # standby.signal and primary_conninfo: a streaming replica
                    "-X",
                    "stream",
                    "--checkpoint=fast",
                    "--no-sync",
                )
                replica.port = free_port()
                self._configure(replica)
                self._start(replica)
                self.replicas.append(replica)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for server in [*self.replicas, self.primary]:
            if server is not None and (server.data / "postmaster.pid").exists():
                with contextlib.suppress(Exception):  # already gone: removed below all the same
                    self._run("pg_ctl", "-D", str(server.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def log(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.root.glob("*.log"))
        )

    @property
    def replica(self) -> Server:
        return self.replicas[0]

    # -- replication

    def wait_for_replay(self, timeout: float = 60) -> None:
        """Until every replica has replayed everything the primary has written so far."""
        import psycopg

        with psycopg.connect(self.primary.dsn(), autocommit=True) as primary:
            lsn = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
        for replica in self.replicas:
            with psycopg.connect(replica.dsn(), autocommit=True) as standby:
                deadline = time.monotonic() + timeout
                while True:
                    row = standby.execute(
                        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [lsn]
                    ).fetchone()
                    if row[0]:
                        break
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{replica.name} did not replay to {lsn}")
                    time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# HAProxy


class Balancer:
    """HAProxy on ``port`` sending each HTTP request to the next of ``backends`` (ports)."""

    def __init__(self, backends: list[int], *, port: int | None = None):
        path = haproxy_path()
        if path is None:
            raise RuntimeError(missing(haproxy=True))
        self.binary = path
        self.backends = backends
        self.port = port or free_port()
        self.stats_port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="shop-haproxy-"))
        self.process: subprocess.Popen | None = None

    def config(self) -> str:
        servers = "\n".join(
            f"    server app{i + 1} 127.0.0.1:{port} check" for i, port in enumerate(self.backends)
        )
        return f"""global
    maxconn 2000

defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout check 20s
    option forwardfor
    option redispatch
    retries 2

frontend shop
    bind 127.0.0.1:{self.port}
    default_backend apps

backend apps
    balance roundrobin
    option httpchk GET /healthz
    # A server whose sync workers are all busy answers its check late, not never: only a
    # server that fails checks for half a minute is taken out (a busy one would be, under a
    # checkout load on a loaded machine, and its requests answered 503 by HAProxy itself).
    default-server inter 3s fall 10 rise 1
{servers}

listen stats
    bind 127.0.0.1:{self.stats_port}
    stats enable
    stats uri /stats
"""

    def start(self, timeout: float = 30) -> Balancer:
        config = self.root / "haproxy.cfg"
        config.write_text(self.config())
        check = subprocess.run([self.binary, "-c", "-f", str(config)], capture_output=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration: {check.stderr.decode()}")
        log = (self.root / "haproxy.log").open("wb")
        self.process = subprocess.Popen(
            [self.binary, "-db", "-f", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {(self.root / 'haproxy.log').read_text()}")
            try:
                if all(row["status"] == "UP" for row in self.servers()):
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"haproxy's servers were not all up within {timeout} s")

    def stats(self) -> list[dict]:
        url = f"http://127.0.0.1:{self.stats_port}/stats;csv"
        with urllib.request.urlopen(url, timeout=5) as answer:
            text = answer.read().decode().lstrip("# ")
        return list(csv.DictReader(io.StringIO(text)))

    def servers(self) -> list[dict]:
        """Each application server's line of statistics: ``svname``, ``status``, ``stot``
        (requests sent to it), ``hrsp_5xx``…"""
        return [
            row
            for row in self.stats()
            if row["pxname"] == "apps"
            and row["svname"]
            not in (
                "FRONTEND",
                "BACKEND",
            )
        ]

    def requests_per_server(self) -> dict[str, dict[str, int]]:
        return {
            row["svname"]: {
                "requests": sum(
                    int(row[f"hrsp_{kind}"] or 0) for kind in ("1xx", "2xx", "3xx", "4xx", "5xx")
                )
                + int(row["hrsp_other"] or 0),
                "5xx": int(row["hrsp_5xx"] or 0),
                "status": row["status"],
            }
            for row in self.servers()
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Balancer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
