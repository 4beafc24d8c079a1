"""Whole smmpanel installations in subprocesses, each with its own data dir and database.

Unlike `server.py` (one server on the pytest-django test database), a `Panel`
here is an installation of its own: `smmpanel migrate`, `smmpanel serve` and
`smmpanel worker` run as an operator would run them, against a SQLite file in
the panel's data dir or a fresh PostgreSQL database made for it
(`fresh_databases`). Nothing here touches the test process's database.
"""

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

SMMPANEL = Path(sys.executable).parent / "smmpanel"
STARTUP_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0
# Environment that belongs to the test process, not to the panels it starts.
_NOT_INHERITED = (
    "DATABASE_URL",
    "SMMPANEL_DATA_DIR",
    "SMMPANEL_SQLITE_PATH",
    "SMMPANEL_REDIS_URL",
    "SECRET_KEY",
)
# Marks the JSON line a snapshot prints, whatever else `smmpanel shell` says.
_MARK = "@@snapshot@@"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, limit: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _is_postgres(url: str) -> bool:
    return urlsplit(url).scheme in ("postgres", "postgresql", "pgsql")


@contextlib.contextmanager
def fresh_databases(names: Sequence[str]) -> Iterator[list[str]]:
    """A DATABASE_URL per name: "" (SQLite in the panel's data dir) unless the
    environment's DATABASE_URL is PostgreSQL, then a new database on that server
    per name, dropped afterwards."""
    configured = os.environ.get("DATABASE_URL", "").strip()
    if not _is_postgres(configured):
        yield ["" for _ in names]
        return
    import psycopg

    parts = urlsplit(configured)
    suffix = secrets.token_hex(4)
    created = [f"p2p_{name}_{suffix}" for name in names]

    def admin() -> "psycopg.Connection[Any]":
        for dbname in ("postgres", parts.path.lstrip("/")):
            try:
                return psycopg.connect(urlunsplit(parts._replace(path=f"/{dbname}")), autocommit=True)
            except psycopg.OperationalError:
                continue
        raise RuntimeError(f"cannot connect to the PostgreSQL server of {configured}")

    with admin() as conn:
        for db in created:
            conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield [urlunsplit(parts._replace(path=f"/{db}")) for db in created]
    finally:
        with admin() as conn:
            for db in created:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


# Printed by `smmpanel shell -c` in the panel: everything the checks read, as JSON.
SNAPSHOT = f"""
import json
from smmpanel.accounts.models import User
from smmpanel.catalog.models import Service
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order
from smmpanel.providers.models import UpstreamCall

def s(v):
    return None if v is None else str(v)

from django.db import connection

out = {{
    "database": [connection.vendor, str(connection.settings_dict["NAME"])],
    "users": {{u.username: {{"id": u.pk, "balance": s(u.balance)}} for u in User.objects.all()}},
    "services": {{
        str(x.pk): {{
            "type": x.type, "rate": s(x.rate), "min": x.min, "max": x.max, "provider": s(x.provider),
            "upstream_id": x.provider_service.external_id if x.provider_service else None,
            "upstream_rate": s(x.provider_service.rate) if x.provider_service else None,
        }}
        for x in Service.objects.select_related("provider", "provider_service")
    }},
    "orders": [
        {{
            "id": o.pk, "user": o.user.username, "service": o.service_id, "type": o.service.type,
            "kind": o.kind, "parent": o.parent_id, "link": o.link, "quantity": o.quantity, "runs": o.runs,
            "params": o.params, "charge": s(o.charge), "cost": s(o.cost), "status": o.status,
            "provider_state": o.provider_state, "provider_order_id": o.provider_order_id,
            "provider_error": o.provider_error, "attempts": o.attempts, "remains": o.remains,
            "start_count": o.start_count,
        }}
        for o in Order.objects.select_related("user", "service").order_by("id")
    ],
    "ledger": [
        {{"user": e.user.username, "kind": e.kind, "amount": s(e.amount), "order": e.order_id,
          "reference": e.reference}}
        for e in LedgerEntry.objects.select_related("user").order_by("id")
    ],
    "calls": [
        {{"action": c.action, "outcome": c.outcome, "order": c.order_id, "error": c.error}}
        for c in UpstreamCall.objects.order_by("id")
    ],
}}
print({_MARK!r} + json.dumps(out))
"""


class Panel:
    """One smmpanel installation: its data dir, its database, its server and worker."""

    def __init__(self, name: str, data_dir: Path, database_url: str, **settings: str) -> None:
        self.name = name
        self.data_dir = data_dir
        self.database_url = database_url
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
        env.update(SMMPANEL_DATA_DIR=str(data_dir), DATABASE_URL=database_url, **settings)
        self.env = env
        self.port = 0
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: list[str] = []  # what was run, with the tail of what it said

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/v2"

    def log(self, process: str) -> Path:
        return self.data_dir / f"{process}.log"

    # The command line ---------------------------------------------------------------

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(SMMPANEL), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        said = (result.stdout + result.stderr).strip()
        self.commands.append(
            f"$ smmpanel {' '.join(args)[:200]}  -> exit {result.returncode}\n{said[-1500:]}"
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"[{self.name}] smmpanel {args[0]} exited {result.returncode}:\n{said}")
        return result

    def run_json(self, *args: str) -> Any:
        return json.loads(self.run(*args).stdout)

    def snapshot(self) -> dict[str, Any]:
        out = self.run("shell", "-c", SNAPSHOT).stdout
        line = next(line for line in out.splitlines() if line.startswith(_MARK))
        data: dict[str, Any] = json.loads(line[len(_MARK) :])
        return data

    # The long-running processes ----------------------------------------------------------

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with self.log(name).open("ab") as out:
            process = subprocess.Popen(
                [str(SMMPANEL), *args],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        self.processes[name] = process
        return process

    def start(self, *, worker: bool = True) -> None:
        """`smmpanel serve` (1 process x 4 threads) and `smmpanel worker`, until the API answers."""
        self.port = free_port()
        self._spawn("serve", "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "1", "--threads", "4")
        if worker:
            self.start_worker()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with httpx.Client(timeout=2.0) as client:
            while True:
                for name, process in self.processes.items():
                    if process.poll() is not None:
                        raise RuntimeError(
                            f"[{self.name}] {name} exited with {process.returncode}:\n{_tail(self.log(name))}"
                        )
                try:
                    if "error" in client.get(self.api).json():
                        return
                except (httpx.TransportError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"[{self.name}] the server did not answer:\n{_tail(self.log('serve'))}"
                    )
                time.sleep(0.1)

    def start_worker(self) -> None:
        self._spawn("worker", "worker", "--idle", "0.2")

    def stop(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
            # Children that outlived their parent would keep database connections open.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def alive(self) -> dict[str, int | None]:
        return {name: process.poll() for name, process in self.processes.items()}

    # Time -------------------------------------------------------------------------------

    def fast_forward(self) -> int:
        """Make everything the engine scheduled for later due now, as if time had passed.

        The engine checks a sent order 30 s after sending, then 1, 2, 4 ... min
        after, asks about a subscription's new posts every minute, and releases
        drip-feed runs at least a minute apart (the checks are settings, left at their defaults here).
        This brings each such moment forward, nothing else.
        """
        from smmpanel.orders.models import Order

        table = Order._meta.db_table
        if _is_postgres(self.database_url):
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                cursor = conn.execute(f"UPDATE {table} SET next_check_at = now() WHERE next_check_at > now()")
                return cursor.rowcount
        now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")  # as Django writes it to SQLite
        with contextlib.closing(
            sqlite3.connect(self.data_dir / "smmpanel.sqlite3", timeout=30, isolation_level=None)
        ) as conn:
            moved = conn.execute(
                f"UPDATE {table} SET next_check_at = ? WHERE next_check_at > ?",
                (now, now),
            )
            return moved.rowcount

    # Diagnostics ------------------------------------------------------------------------

    def diagnostics(self) -> str:
        parts = [f"===== panel {self.name} ({self.url}, data {self.data_dir}) processes {self.alive()}"]
        parts += [f"----- {command[:200]} ... {command[-400:]}" for command in self.commands[-4:]]
        for name in self.processes:
            parts.append(f"----- {name}.log (tail)\n{_tail(self.log(name))}")
        return "\n".join(parts)
