"""The worker: one loop over all due work, kept in the database. Run as many as you like.

SIGTERM (or Ctrl-C) lets the round in progress finish, calls in flight
included, then the worker exits. A SIGKILL at any point loses nothing: claims
left `sending` become `unknown` and are settled by reconciliation.
"""

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from types import FrameType

from django.db import close_old_connections
from django.utils import timezone

from smmpanel.engine import dispatch, dripfeed, refills_cancels, subscriptions, sync
from smmpanel.payments import deposits
from smmpanel.providers import balances, beats, listing, records
from smmpanel.providers.pacing import Pacer

log = logging.getLogger("smmpanel.engine")


class Worker:
    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = timezone.now,
        idle_seconds: float = 1.0,
        threads: int = 16,
        batch: int = 50,
        name: str = "",
    ) -> None:
        self.host = socket.gethostname()[:200]
        self.pid = os.getpid()
        # The name of its heartbeat row (the console lists workers by it).
        self.name = (name or f"{self.host}:{self.pid}")[:200]
        self.started_at: datetime | None = None  # the first round's time, by the worker's clock
        self.beaten_at: datetime | None = None
        self.clock = clock
        self.idle_seconds = idle_seconds
        self.threads = threads
        self.batch = batch
        self.stopping = threading.Event()
        self.pacer = Pacer(sleep=self.stopping.wait)
        self.rounds = 0

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self.stopping.set()

    def beat(self, now: datetime) -> None:
        """The worker's heartbeat, written at most every beats.EVERY (one UPDATE of its own row)."""
        if self.beaten_at is None:
            beats.prune(now)  # once: the rows of workers gone for days
        if self.beaten_at is None or now - self.beaten_at >= beats.EVERY or now < self.beaten_at:
            self.started_at = self.started_at or now
            beats.beat(self.name, self.host, self.pid, self.started_at, now)
            self.beaten_at = now

    def run_once(self) -> int:
        """One pass over every job; returns how much work was done."""
        now = self.clock()
        self.beat(now)
        done = {
            "drip-feed runs released": dripfeed.cancel_requested(now) + dripfeed.release_runs(now),
            "canceled before sending": dispatch.cancel_unsent(now),
            "claims gone stale": dispatch.expire_stale_claims(now),
            "resent in doubt": dispatch.reconcile(self.clock, threads=self.threads),
            "sent": dispatch.dispatch(self.clock, limit=self.batch, threads=self.threads),
            "checked": sync.sync(self.clock, self.pacer, threads=min(self.threads, 4)),
            "subscription posts": subscriptions.follow(self.clock()),
            "cancels forwarded": refills_cancels.forward_cancels(self.clock()),
            "refills forwarded": refills_cancels.forward_refills(self.clock()),
            "refills checked": refills_cancels.sync_refills(self.clock()),
            "deposits asked": deposits.poll(self.clock()),
            "balances read": balances.refresh_due(self.clock(), self.pacer),
            "lists read": listing.read_due(self.clock()),
        }
        work = sum(done.values())
        if work:
            log.info("round: %s", ", ".join(f"{count} {what}" for what, count in done.items() if count))
        self.rounds += 1
        if self.rounds % 1000 == 1:
            records.prune()  # upstream call records live SMMPANEL_CALL_RETENTION_DAYS days
        return work

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop)
        log.info("worker started (%s)", self.name)
        while not self.stopping.is_set():
            close_old_connections()
            try:
                work = self.run_once()
            except Exception:
                log.exception("worker round failed; retrying")
                work = 0
            if not work:
                self.stopping.wait(self.idle_seconds)
        close_old_connections()
        try:
            beats.stopped(self.name, self.clock())
        except Exception:  # the database is gone: the console will show this worker silent
            log.exception("could not record the stop")
        log.info("worker stopped")
