"""`smmpanel worker` processes for tests, and a fake upstream that knows which process called it.

    with TrackingUpstream() as upstream:
        worker = WorkerProcess.start(server_env(), tmp_path / "w1.log", "--idle", "0.1")
        upstream.watch(worker.pid)
        worker.wait_started()
        ...
        assert terminate([worker]) == [0]
    upstream.adds  # [(Idempotency-Key, pid of the worker that sent it or None)]

Which worker sent an `add` is read from Linux's /proc: the caller's end of the
connection is matched to a socket that one of the worker processes holds, while
the request is in flight. Where /proc cannot tell, the pid is None.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from upstream import FakeUpstream

STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
_TCP_TABLES = ("/proc/net/tcp", "/proc/net/tcp6")


def proc_available() -> bool:
    """Whether /proc can tell which process holds a connection (Linux)."""
    return Path(_TCP_TABLES[0]).exists() and Path(f"/proc/{os.getpid()}/fd").is_dir()


def _socket_inode(local_port: int, remote_port: int) -> str | None:
    """The inode of the TCP socket from `local_port` to `remote_port`, from /proc/net/tcp*."""
    for table in _TCP_TABLES:
        with contextlib.suppress(OSError), open(table) as lines:
            next(lines, None)
            for line in lines:
                fields = line.split()
                if len(fields) < 10:
                    continue
                local, remote, inode = fields[1], fields[2], fields[9]
                if int(local.rsplit(":", 1)[1], 16) == local_port and (
                    int(remote.rsplit(":", 1)[1], 16) == remote_port
                ):
                    return inode if inode != "0" else None
    return None


def _holder(inode: str, pids: list[int]) -> int | None:
    wanted = f"socket:[{inode}]"
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return pid
    return None


class TrackingUpstream(FakeUpstream):
    """A FakeUpstream that also records every `add` call: its Idempotency-Key and the caller's pid.

    `watch(pid)` names the processes to look for (the workers a test started).
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.adds: list[tuple[str | None, int | None]] = []
        self.watched: list[int] = []

    def watch(self, pid: int) -> None:
        with self._lock:
            self.watched.append(pid)

    def _caller(self, handler: Any) -> int | None:
        # One lookup per connection (keep-alive): the handler lives as long as it.
        if not hasattr(handler, "caller_pid"):
            inode = _socket_inode(handler.client_address[1], handler.server.server_address[1])
            with self._lock:
                pids = list(self.watched)
            handler.caller_pid = None if inode is None else _holder(inode, pids)
        pid: int | None = handler.caller_pid
        return pid

    def answer(self, handler: Any, params: dict[str, str]) -> None:
        if params.get("action", "").strip().lower() == "add":
            caller = self._caller(handler)
            with self._lock:
                self.adds.append((handler.headers.get("Idempotency-Key"), caller))
        super().answer(handler, params)

    def keys_sent_by(self, pid: int) -> list[str | None]:
        with self._lock:
            return [key for key, caller in self.adds if caller == pid]

    def adds_per_key(self) -> Counter[str | None]:
        with self._lock:
            return Counter(key for key, _ in self.adds)

    def adds_per_pid(self) -> Counter[int | None]:
        with self._lock:
            return Counter(pid for _, pid in self.adds)


class WorkerProcess:
    """One `smmpanel worker` in its own process group, its output in a log file."""

    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log
        self._started = False

    @classmethod
    def start(cls, env: dict[str, str], log: Path, *args: str) -> "WorkerProcess":
        script = Path(sys.executable).parent / "smmpanel"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(script), "worker", *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group
            )
        return cls(process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self, limit: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-limit:]
        except OSError:
            return ""

    def started(self) -> bool:
        """Whether it logged "worker started" (Django is set up, its loop begins)."""
        if not self._started:
            with contextlib.suppress(OSError), self.log.open("rb") as log:
                self._started = b"worker started" in log.read(4096)
        return self._started

    def wait_started(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not self.started():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"worker {self.pid} exited with {self.process.returncode}:\n{self.output()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"worker {self.pid} did not start within {timeout:.0f} s:\n{self.output()}"
                )
            time.sleep(0.02)

    def _signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def term(self) -> None:
        """SIGTERM: the worker finishes the round in progress, then exits."""
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)

    def wait(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """The exit code, or None if it did not exit within `timeout` (then it is killed)."""
        try:
            return self.process.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def dump_stacks(self) -> None:
        """With PYTHONFAULTHANDLER=1 in its environment, the worker writes its threads' stacks and dies."""
        if self.process.poll() is None:
            self._signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=STOP_TIMEOUT)

    def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_TIMEOUT)


def terminate(workers: list[WorkerProcess], timeout: float = STOP_TIMEOUT) -> list[int | None]:
    """SIGTERM to all at once; their exit codes (None: still running after `timeout`, then killed)."""
    for worker in workers:
        worker.term()
    deadline = time.monotonic() + timeout
    return [worker.wait(deadline - time.monotonic()) for worker in workers]
