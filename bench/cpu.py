"""How much of the machine other processes used while we measured (Linux /proc).

A 2-core machine shared with anything else (a test suite, a build) gives low
and noisy figures. `Meter` counts, over a window, all busy CPU time minus the
time of our own processes (the servers' process groups, the PostgreSQL backends
of the bench database, this process and the children it waited for, i.e. the
load generator): what is left is other people's, as a share of the machine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def _ours(pgids: set[int], database: str) -> dict[int, tuple[bool, int]]:
    """pid: (is a server process, jiffies used so far) of the live processes in `pgids`
    and the PostgreSQL processes of `database` (backends, autovacuum workers)."""
    found: dict[int, tuple[bool, int]] = {}
    marker = database.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            rest = stat[stat.rindex(b")") + 2 :].split()
            comm = stat[stat.index(b"(") + 1 : stat.rindex(b")")]
            used = int(rest[11]) + int(rest[12])
            if int(rest[2]) in pgids:
                found[int(entry.name)] = (True, used)
            elif comm.startswith(b"postgres") and marker in (
                (entry / "cmdline").read_bytes().replace(b"\0", b" ").split()
            ):
                found[int(entry.name)] = (False, used)
        except (OSError, ValueError, IndexError):
            continue
    return found


def _self_and_children() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Meter:
    """Start with `Meter(...)` before a measurement, call `read()` after it."""

    def __init__(self, pgids: set[int], database: str) -> None:
        self.pgids, self.database = pgids, database
        self.available = Path("/proc/stat").exists()
        if self.available:
            self.busy0, self.total0 = _machine()
            self.start = _ours(pgids, database)
            self.self0 = _self_and_children()

    def read(self) -> dict[str, float]:
        """CPU seconds of the server, of its database backends and of the load generator
        (and this process) since the start, and `others`: the share of the whole
        machine (0..1) that other processes used meanwhile."""
        if not self.available:
            return {}
        busy, total = _machine()
        server = db = 0
        # Per pid: a process that ended meanwhile took its count with it (its share
        # lands in `others`), one that started counts from zero.
        for pid, (is_server, used) in _ours(self.pgids, self.database).items():
            delta = used - self.start.get(pid, (is_server, 0))[1]
            if is_server:
                server += delta
            else:
                db += delta
        client = round((_self_and_children() - self.self0) * TICKS)
        span = total - self.total0
        others = (busy - self.busy0 - server - db - client) / span if span > 0 else 0.0
        return {
            "others": min(1.0, max(0.0, others)),
            "server_s": server / TICKS,
            "db_s": db / TICKS,
            "client_s": client / TICKS,
        }


def busy_now(seconds: float = 1.0) -> float | None:
    """Share of the machine in use over the next `seconds` (None where /proc is missing)."""
    try:
        busy0, total0 = _machine()
        time.sleep(seconds)
        busy1, total1 = _machine()
    except (OSError, ValueError, IndexError):
        return None
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_quiet(limit: float, threshold: float = 0.10) -> tuple[float | None, float]:
    """Wait up to `limit` seconds for the machine to fall under `threshold` busy.

    Returns (the last busy share seen, seconds waited). With limit 0, one sample.
    """
    started = time.monotonic()
    busy = busy_now()
    while busy is not None and busy > threshold and time.monotonic() - started < limit:
        busy = busy_now()
    return busy, time.monotonic() - started
