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
from server import STARTUP_TIMEOUT, _free_port, _wait_until_answering

STOP_WITHIN = 15.0  # seconds: the server's graceful stop takes a few


def _stat(pid: int | str) -> list[str]:
    """/proc/PID/stat after the name: state, ppid, process group ... (the name may hold spaces)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _group(pgid: int) -> set[int]:
    """The live processes of a process group: the demo's, all it started included."""
    found = set()
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            state, _ppid, group = _stat(entry.name)[:3]
            if state != "Z" and int(group) == pgid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        return _stat(pid)[0] != "Z"
    except (OSError, IndexError):
        return False


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


def _start_demo(data: Path, port: int, log: Path) -> "subprocess.Popen[bytes]":
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
        pytest.skip(
            "the demo runs on its own SQLite file whatever the suite's database: the SQLite suite runs this"
        )
    env = dict(os.environ, SMMPANEL_DATA_DIR=str(data), DATABASE_URL="")
    env.pop("SMMPANEL_SQLITE_PATH", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).with_name("smmpanel")), "demo", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # anything left behind is killed with the group
        )


def _kill_what_is_left(process: "subprocess.Popen[bytes]") -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_WITHIN)


def _until_gone(pids: set[int]) -> set[int]:
    deadline = time.monotonic() + STOP_WITHIN
    while {pid for pid in pids if _alive(pid)} and time.monotonic() < deadline:
        time.sleep(0.1)
    return {pid for pid in pids if _alive(pid)}


pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the demo's children in /proc"),
]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_demo_with_its_server_and_worker(demo_data: Path, sig: signal.Signals) -> None:
    port = _free_port()
    log = demo_data / f"demo-{sig.name}.log"
    process = _start_demo(demo_data, port, log)
    try:
        _wait_until_answering(process, f"http://127.0.0.1:{port}", log)
        started = _group(process.pid) - {process.pid}
        assert len(started) >= 2, f"no server and worker beside the demo: {started}"
        os.kill(process.pid, sig)  # the demo alone, as `kill PID` does
        process.wait(timeout=STOP_WITHIN)
        assert not _until_gone(started | _group(process.pid)), f"left running:\n{log.read_text()}"
        assert _port_is_free(port)
    finally:
        _kill_what_is_left(process)


def test_a_demo_whose_server_cannot_start_stops_its_worker_and_says_why(demo_data: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        log = demo_data / "demo-taken.log"
        process = _start_demo(demo_data, port, log)
        try:
            assert process.wait(timeout=STARTUP_TIMEOUT) != 0
            assert "the server exited with code" in log.read_text()
            assert not _until_gone(_group(process.pid)), f"left running:\n{log.read_text()}"
        finally:
            _kill_what_is_left(process)
