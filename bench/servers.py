"""Starting and stopping the servers under test, each in its own process group."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from smmpanel.web import server as serve

BENCH_DIR = Path(__file__).resolve().parent
BARE_APP = "bare:application"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ours_argv(kind: str, port: int, workers: int, threads: int) -> list[str]:
    """`smmpanel serve`, which execs the WSGI server on the panel's application."""
    exe = str(Path(sys.executable).with_name("smmpanel"))
    return [
        exe,
        "serve",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--server",
        kind,
    ]


def bare_argv(kind: str, port: int, workers: int, threads: int) -> list[str]:
    """The very argv `smmpanel serve` would exec, with the bare application instead."""
    argv = serve.command(kind, "127.0.0.1", port, workers, threads)
    return [BARE_APP if arg == serve.APP else arg for arg in argv]


@dataclass
class Server:
    label: str
    argv: list[str]
    port: int
    env: dict[str, str]
    log_path: Path
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, probe_body: str, timeout: float = 60.0) -> None:
        """Until a real API request gets a 200; exit with the server's log if it never does."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request(
                    "POST", "/api/v2", probe_body, {"Content-Type": "application/x-www-form-urlencoded"}
                )
                response = conn.getresponse()
                body = response.read()
                conn.close()
                if response.status == 200:
                    return
                last = f"HTTP {response.status}: {body[:200]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise RuntimeError(
            f"{self.label} did not answer on port {self.port} ({last}); log:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM the whole process group, SIGKILL it after 10 s."""
        proc = self.proc
        if proc is not None and proc.returncode is None:
            for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
            # Workers that outlived their master are still in the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()
            self._log = None
