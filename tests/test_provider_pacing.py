"""A provider's calls-per-second limit holds for all workers together, not for each of them.

Three `smmpanel worker` processes follow the same sent orders at a fake upstream that
notes when each `status` call reaches it.
"""

import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from server import server_env
from upstream import FakeUpstream
from workers import WorkerProcess, terminate

from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.catalog.offers import offer
from smmpanel.ledger.accounts import create_customer
from smmpanel.orders import drafting, placement
from smmpanel.orders.models import Order
from smmpanel.providers.models import CallPace
from smmpanel.providers.pacing import take_turns

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

RATE = 5  # calls a second the provider allows
ORDERS = 300  # three status calls of 100 ids for each worker's round
WATCH = 4.0  # seconds of calls counted


class TimedUpstream(FakeUpstream):
    """A fake upstream that also notes the moment each call arrives."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrivals: list[tuple[float, str]] = []

    def answer(self, handler: Any, params: dict[str, str]) -> None:
        with self._lock:
            self.arrivals.append((time.time(), params.get("action", "")))
        super().answer(handler, params)

    def status_calls(self, start: float, end: float) -> list[float]:
        with self._lock:
            return sorted(t for t, action in self.arrivals if action == "status" and start <= t < end)


def sent_orders(upstream: TimedUpstream) -> None:
    """ORDERS orders sent to a provider that allows RATE calls a second, first due in a day: the
    test makes them due when it starts (a disabled provider's orders are followed all the same)."""
    provider = Provider.objects.create(
        name="Upstream", url=upstream.url, api_key=upstream.key, requests_per_second=RATE
    )
    listed = ProviderService.objects.create(
        provider=provider, external_id="1", name="F", type="default", rate=Decimal("0.5"), min=10, max=10**4
    )
    service = Service.objects.create(
        category=Category.objects.create(name="Followers"),
        name="Followers",
        rate=Decimal("0.9"),
        min=10,
        max=10**4,
        provider=provider,
        provider_service=listed,
    )
    customer, _key = create_customer("reseller", balance=Decimal(1000))
    terms = offer(customer.pk, service.pk)
    assert terms is not None
    for n in range(ORDERS):
        link = f"https://example.com/post/{n}"
        order_id = placement.place(customer.pk, drafting.draft(terms, {"link": link, "quantity": "100"}))
        upstream_id = upstream.place({"service": "1", "link": link, "quantity": "100"}).id
        Order.objects.filter(pk=order_id).update(
            provider_state=Order.ProviderState.SENT,
            provider=provider,
            provider_order_id=upstream_id,
            sent_at=timezone.now(),
            next_check_at=timezone.now() + timedelta(days=1),
        )


def busiest(moments: list[float], seconds: float) -> int:
    """The most calls that arrived within any `seconds`."""
    return max((sum(1 for m in moments if start <= m < start + seconds) for start in moments), default=0)


def test_three_workers_together_keep_to_the_providers_rate(tmp_path: Path) -> None:
    with TimedUpstream() as upstream:
        sent_orders(upstream)
        # Orders that do not move are asked again within a second at most: the workers always have work.
        env = server_env() | {"SMMPANEL_FIRST_CHECK_SECONDS": "0.001"}
        workers = [WorkerProcess.start(env, tmp_path / f"w{n}.log", "--idle", "0.05") for n in range(3)]
        try:
            for worker in workers:
                worker.wait_started()
            Order.objects.update(next_check_at=timezone.now())
            start = time.time() + 0.5  # once every worker is in its stride
            time.sleep(0.5 + WATCH)
            moments = upstream.status_calls(start, start + WATCH)
        finally:
            codes = terminate(workers)
        logs = "\n".join(w.output(2000) for w in workers)
    assert codes == [0, 0, 0], logs
    # Pacing each worker on its own gave about 40 calls here in the 4 s, 13 to 16 within one
    # second, 30 within two: 3 x RATE. Together they keep to RATE. A turn is kept to the moment a
    # worker calls, but a worker the machine holds back past its turn calls late, next to the
    # turns after it: so a window of two seconds is counted, with room for one worker's calls.
    assert len(moments) >= 2 * RATE, f"the workers hardly called: {len(moments)}\n{logs}"
    assert len(moments) <= RATE * WATCH + 3, moments
    assert busiest(moments, 2.0) <= 2 * RATE + 3, moments


def test_turns_follow_each_other_at_the_providers_pace(db: None) -> None:
    provider = Provider.objects.create(name="p", kind=Provider.Kind.MANUAL, requests_per_second=4)
    assert take_turns(provider, 3, clock=lambda: 100.0) == [100.0, 100.25, 100.5]
    assert take_turns(provider, 1, clock=lambda: 100.1) == [100.75]  # after the turns already taken
    assert take_turns(provider, 1, clock=lambda: 200.0) == [200.0]  # an idle provider: at once
    assert CallPace.objects.get(provider=provider).next_at == 200.25
