"""Workers' heartbeats: each worker moves its own WorkerBeat row forward every few seconds, and
the console reads them to tell the operator whether the engine is running.

A beat is one conditional UPDATE of the worker's own row (an INSERT the first time), never a
save of a row read earlier. A worker that stops cleanly says so; one that stopped beating
without saying so has crashed, hangs, or lost its database.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from smmpanel.providers.models import WorkerBeat

EVERY = timedelta(seconds=5)  # a worker beats at most this often
QUIET_AFTER = timedelta(minutes=1)  # a running worker silent for longer is flagged
KEPT_FOR = timedelta(days=7)  # rows of workers gone longer than this are dropped


def beat(name: str, host: str, pid: int, started_at: datetime, now: datetime) -> None:
    """Record that the worker `name` is alive at `now`."""
    changes = dict(host=host, pid=pid, started_at=started_at, beat_at=now, stopped_at=None)
    if WorkerBeat.objects.filter(name=name).update(**changes):
        return
    try:
        with transaction.atomic():
            WorkerBeat.objects.create(name=name, **changes)
    except IntegrityError:  # another process of the same name was first: then it is ours to move
        WorkerBeat.objects.filter(name=name).update(**changes)


def stopped(name: str, now: datetime) -> None:
    """The worker `name` stopped cleanly (SIGTERM or Ctrl-C)."""
    WorkerBeat.objects.filter(name=name).update(beat_at=now, stopped_at=now)


def prune(now: datetime) -> int:
    """Drops the rows of workers that have not beaten for KEPT_FOR; returns how many."""
    deleted, _ = WorkerBeat.objects.filter(beat_at__lt=now - KEPT_FOR).delete()
    return deleted


@dataclass(frozen=True)
class WorkerState:
    name: str
    host: str
    pid: int
    started_at: datetime
    beat_at: datetime
    stopped_at: datetime | None
    quiet: bool  # running (not stopped) and silent for longer than QUIET_AFTER


def workers(now: datetime, limit: int = 10) -> list[WorkerState]:
    """The `limit` workers that beat last, latest first; an empty list: no worker has ever run
    (or none in the last KEPT_FOR)."""
    rows = WorkerBeat.objects.order_by("-beat_at", "name")[:limit]
    return [
        WorkerState(
            name=row.name,
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            beat_at=row.beat_at,
            stopped_at=row.stopped_at,
            quiet=row.stopped_at is None and now - row.beat_at > QUIET_AFTER,
        )
        for row in rows
    ]
