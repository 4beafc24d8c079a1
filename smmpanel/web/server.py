"""Starting the production WSGI server (granian or gunicorn) on the panel's application."""

import os
import shutil
import sys

SERVERS = ("granian", "gunicorn")
# Chosen by bench/api.py: see README "Production" and bench/README.md.
DEFAULT_SERVER = "granian"
APP = "smmpanel.wsgi:application"


def command(server: str, host: str, port: int, workers: int, threads: int) -> list[str]:
    """The argv that runs `server` with the panel's application."""
    executable = shutil.which(server, path=os.path.dirname(sys.executable)) or server
    if server == "granian":
        return [
            executable,
            "--interface",
            "wsgi",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--no-ws",
            "--log-level",
            "warning",
            APP,
        ]
    if server == "gunicorn":
        return [
            executable,
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "5",
            "--log-level",
            "warning",
            APP,
        ]
    raise ValueError(f"unknown server {server!r}: choose one of {', '.join(SERVERS)}")


def parse_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--bind wants HOST:PORT, like 127.0.0.1:8000, not {bind!r}")
    return host.strip("[]") or "127.0.0.1", int(port)
