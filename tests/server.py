"""The panel's real production server in a subprocess, on the pytest-django test database.

Use it from a test module with

    from server import panel_server  # noqa: F401  (a fixture)

and mark the tests `@pytest.mark.django_db(transaction=True)`: the server is
another process, so it only sees data the test has committed.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from django.conf import settings
from django.db import connection

STARTUP_TIMEOUT = 20.0
SHUTDOWN_TIMEOUT = 10.0
WORKERS = 2
THREADS = 4


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env() -> dict[str, str]:
    """The environment that points a server process at the test database."""
    db = connection.settings_dict
    env = dict(os.environ)
    env["SMMPANEL_DATA_DIR"] = str(settings.DATA_DIR)
    env.pop("SMMPANEL_SQLITE_PATH", None)
    if db["ENGINE"] == "django.db.backends.postgresql":
        user = quote(db["USER"] or "", safe="")
        password = quote(db["PASSWORD"] or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = db["HOST"] or "localhost"
        if ":" in host:  # an IPv6 address
            host = f"[{host}]"
        port = f":{db['PORT']}" if db["PORT"] else ""
        env["DATABASE_URL"] = f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"
    elif db["ENGINE"] == "django.db.backends.sqlite3":
        name = str(db["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            pytest.skip("the test database is in memory: another process cannot see it")
        env["DATABASE_URL"] = ""
        env["SMMPANEL_SQLITE_PATH"] = str(Path(name).resolve())
    else:
        pytest.skip(f"no server fixture for database engine {db['ENGINE']}")
    return env


def _log_tail(path: Path, limit: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


def _wait_until_answering(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    """Until the API answers JSON (the app is loaded, not just the port bound)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                response = client.get(f"{base_url}/api/v2")
                if response.status_code == 200 and "error" in response.json():
                    return
            except (httpx.TransportError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the server did not answer within {STARTUP_TIMEOUT:.0f} s:\n{_log_tail(log)}"
                )
            time.sleep(0.1)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole process group (granian and its workers), then wait."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    # Workers that outlived their parent would keep test database connections open.
    _signal_group(process, signal.SIGKILL)


@pytest.fixture(scope="module")
def panel_server(
    django_db_setup: None, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Base URL of `smmpanel serve` (granian, 2 workers x 4 threads) on the test database.

    A module may define a module-scoped fixture `panel_server_env` (a dict) to add
    to the server's environment, e.g. to change a setting.
    """
    script = Path(sys.executable).parent / "smmpanel"
    if not script.exists():
        pytest.skip(f"{script} is not installed (pip install -e .)")
    try:
        extra: dict[str, str] = request.getfixturevalue("panel_server_env")
    except pytest.FixtureLookupError:
        extra = {}
    env = server_env() | extra
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("panel_server") / "server.log"
    argv = [
        str(script),
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(WORKERS),
        "--threads",
        str(THREADS),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    try:
        _wait_until_answering(process, base_url, log)
        yield base_url
    finally:
        _stop(process)
