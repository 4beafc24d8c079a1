"""Per-provider pacing shared by every worker process, on any number of machines.

A provider's next free moment is one database row (`CallPace`); a worker takes
the next `count` turns with a compare-and-swap UPDATE of it, then waits for its
turns outside any transaction. Clocks are wall clocks (time.time()): workers on
several machines need them in step, as they do for everything else.
"""

import time
from collections.abc import Callable

from django.db import IntegrityError, transaction

from smmpanel.catalog.models import Provider
from smmpanel.providers.models import CallPace

ATTEMPTS = 1000


def interval(provider: Provider) -> float:
    """Seconds between two calls to the provider."""
    return 1.0 / max(provider.requests_per_second, 0.001)


def take_turns(provider: Provider, count: int = 1, clock: Callable[[], float] = time.time) -> list[float]:
    """The moments (Unix time) at which this worker may make its next `count` calls."""
    step = interval(provider)
    for _ in range(ATTEMPTS):
        seen = CallPace.objects.filter(pk=provider.pk).values_list("next_at", flat=True).first()
        if seen is None:
            _create(provider)
            continue
        start = max(seen, clock())
        if CallPace.objects.filter(pk=provider.pk, next_at=seen).update(next_at=start + step * count):
            return [start + step * n for n in range(count)]
    raise RuntimeError(f"could not take a turn to call {provider} after {ATTEMPTS} attempts")


def _create(provider: Provider) -> None:
    try:
        with transaction.atomic():
            CallPace.objects.create(provider=provider, next_at=0.0)
    except IntegrityError:
        pass  # another worker made it first


class Pacer:
    """Waits for this worker's turns to call providers (thread-safe: the turns come from the database).

    Take the turns from the thread that owns the database connection, then wait for each
    turn in the thread that makes the call.
    """

    def __init__(
        self, sleep: Callable[[float], object] = time.sleep, clock: Callable[[], float] = time.time
    ) -> None:
        self.sleep = sleep
        self.clock = clock

    def turns(self, provider: Provider, count: int) -> list[float]:
        return take_turns(provider, count, self.clock)

    def wait_until(self, moment: float) -> None:
        delay = moment - self.clock()
        if delay > 0:
            self.sleep(delay)
