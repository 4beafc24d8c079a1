"""`kill PID` (SIGTERM) or a closed terminal (SIGHUP) stops the whole `smmpanel demo`: its server
and its worker exit with it and the port is free again, as after Ctrl-C."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from server import _free_port, _wait_until_answering

STOP_WITHIN = 15.0  # seconds: the server's graceful stop takes a few


def _children(pid: int) -> set[int]:
    """The live descendants of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            # /proc/PID/stat: "pid (name) state ppid ...", the name may hold spaces.
            state, ppid = entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[:2]
            if state != "Z":
                parents[int(entry.name)] = int(ppid)
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        kids = {child for child, ppid in parents.items() if ppid == parent}
        found |= kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not "held"
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module: the second demo start finds it migrated and seeded."""
    return tmp_path_factory.mktemp("demo")


@pytest.mark.server
@pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="finds the demo's children in /proc (Linux)"
)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_demo_with_its_server_and_worker(demo_data: Path, sig: signal.Signals) -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip(
            "the demo runs on its own SQLite file whatever the suite's database: the SQLite suite runs this"
        )
    script = Path(sys.executable).with_name("smmpanel")
    port = _free_port()
    env = dict(os.environ, SMMPANEL_DATA_DIR=str(demo_data), DATABASE_URL="")
    env.pop("SMMPANEL_SQLITE_PATH", None)
    log = demo_data / f"demo-{sig.name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(script), "demo", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # anything left behind is killed with the group below
        )
    try:
        _wait_until_answering(process, f"http://127.0.0.1:{port}", log)
        children = _children(process.pid)
        assert len(children) >= 2, f"no server and worker under the demo: {children}"
        os.kill(process.pid, sig)  # the demo alone, as `kill PID` does
        process.wait(timeout=STOP_WITHIN)
        deadline = time.monotonic() + STOP_WITHIN
        while {pid for pid in children if _alive(pid)} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not {pid for pid in children if _alive(pid)}, f"left running:\n{log.read_text()}"
        assert _port_is_free(port)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_WITHIN)
