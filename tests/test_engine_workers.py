"""Several `smmpanel worker` processes on one queue, and workers killed mid-send.

docs/architecture.md, "The engine": several workers may run; each order is claimed by
exactly one of them; SIGTERM finishes the call in flight and exits; a crash at
any point loses no order and sends none twice.

The workers are real subprocesses on the pytest-django test database
(tests/server.py), sending to a fake upstream panel over real HTTP in this
process (tests/upstream.py), which counts what it placed per Idempotency-Key
and, through /proc, which worker process sent each `add` (tests/workers.py).

Two tests hold bugs found on the way: a claim on PostgreSQL must lock only the
order rows (not the joined service and provider rows), so workers pass each
other by; and an answer that comes after another worker swept the claim as
stale is still recorded.
"""

import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from server import server_env
from workers import TrackingUpstream, WorkerProcess, proc_available, terminate

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.catalog.offers import Offer, offer
from smmpanel.catalog.types import ServiceType
from smmpanel.engine.claims import claim_orders
from smmpanel.engine.dispatch import due, stale_claim
from smmpanel.engine.worker import Worker
from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders import drafting, placement
from smmpanel.orders.models import Order, OrderEvent
from smmpanel.providers.apiv2 import idempotency_key

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

P, S = Order.ProviderState, Order.Status
SEED = 20261126
QUANTITY = 100  # 0.09 an order at 0.90 per 1000
DRAIN_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


@dataclass
class World:
    provider: Provider
    service: Service
    customer: User
    terms: Offer  # the customer's offer, read while the provider was enabled

    def enable(self) -> None:
        """The orders become due: every worker sees it at its next round."""
        Provider.objects.filter(pk=self.provider.pk).update(enabled=True)


def make_world(upstream: TrackingUpstream, *, honours: bool) -> World:
    """A Default service sold at 0.90 and bought from the fake upstream's service 1.

    The provider starts disabled, so that orders placed before the workers are
    up wait for all of them (see `World.enable`). A disabled provider's service is
    not on sale, so the customer's offer is read before it is disabled, as by a
    customer whose order form was open then.
    """
    category = Category.objects.create(name="Instagram Followers")
    service = Service.objects.create(
        category=category, name="Followers", type=ServiceType.DEFAULT, rate=Decimal("0.90"), min=10, max=10000
    )
    provider = Provider.objects.create(
        name="Upstream",
        kind=Provider.Kind.API_V2,
        url=upstream.url,
        api_key=upstream.key,
        honours_idempotency=honours,
        requests_per_second=1000,
        timeout_seconds=2,
    )
    linked = ProviderService.objects.create(
        provider=provider,
        external_id="1",
        name="Followers",
        type="default",
        rate=Decimal("0.5"),
        min=10,
        max=10000,
    )
    Service.objects.filter(pk=service.pk).update(provider=provider, provider_service=linked)
    customer, _key = create_customer("reseller", email="reseller@example.com", balance=Decimal(100))
    terms = offer(customer.pk, service.pk)
    assert terms is not None
    Provider.objects.filter(pk=provider.pk).update(enabled=False)
    return World(provider, service, customer, terms)


def place_orders(world: World, numbers: range) -> list[int]:
    """Orders placed as the API places them (drafted, charged, stored): one distinct link each."""
    terms = world.terms
    return [
        placement.place(
            world.customer.pk,
            drafting.draft(terms, {"link": f"https://example.com/post/{n}", "quantity": str(QUANTITY)}),
        )
        for n in numbers
    ]


def in_flight() -> int:
    return Order.objects.filter(provider_state__in=(P.QUEUED, P.SENDING)).count()


def wait_until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def states() -> dict[str, int]:
    """How many orders are in each provider state."""
    rows = Order.objects.values_list("provider_state").annotate(n=Count("id")).order_by()
    return dict(rows)


def order_of(key: str | None) -> int | None:
    """The order id in one of our Idempotency-Keys (smmpanel-<installation>-<order id>)."""
    return int(key.rsplit("-", 1)[1]) if key else None


class Workers:
    """Starts `smmpanel worker` processes on the test database; none outlives the test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.env = server_env() | {"PYTHONFAULTHANDLER": "1"}  # SIGABRT dumps every thread's stack
        self.started: list[WorkerProcess] = []

    def start(self, upstream: TrackingUpstream, *args: str) -> WorkerProcess:
        log = self.directory / f"worker-{len(self.started)}.log"
        worker = WorkerProcess.start(self.env, log, "--idle", "0.1", *args)
        self.started.append(worker)
        upstream.watch(worker.pid)
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- worker {w.pid}:\n{w.output(3000)}" for w in self.started)

    def wait(self, done: Callable[[], bool], what: str, timeout: float = DRAIN_TIMEOUT) -> None:
        """Until `done()`; if not within `timeout`, fail with the orders' states and the workers' stacks."""
        if wait_until(done, timeout):
            return
        for worker in self.started:
            worker.dump_stacks()
        time.sleep(0.5)
        seen = states()
        connection.close()  # and as a new connection sees them
        errors = (
            Order.objects.exclude(provider_error="").values_list("provider_error").annotate(n=Count("id"))
        )
        raise AssertionError(
            f"not {what} within {timeout:.0f} s; orders: {seen}, anew: {states()}, "
            f"errors: {dict(errors.order_by())}\n{self.logs()}"
        )

    def kill_all(self) -> None:
        for worker in self.started:
            if worker.process.poll() is None:
                worker.kill()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(tmp_path)
    try:
        yield pool
    finally:
        pool.kill_all()  # a failed test must not leave processes holding the test database


def assert_ledger_intact(orders: int) -> None:
    assert list(mismatches()) == []
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).count() == orders
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def assert_sent_orders_match_upstream(upstream: TrackingUpstream) -> None:
    """Every `sent` order holds the id of the upstream order placed under its own key, and no other's."""
    sent = list(Order.objects.filter(provider_state=P.SENT).values_list("pk", "provider_order_id"))
    ids = [provider_order_id for _, provider_order_id in sent]
    assert all(ids) and len(set(ids)) == len(ids), "two orders share an upstream id, or one has none"
    for pk, provider_order_id in sent:
        assert upstream.orders[provider_order_id].idempotency_key == idempotency_key(pk)


# Several workers, one queue --------------------------------------------------------------

ORDERS = 300


@pytest.mark.parametrize("count", [2, 4])
def test_workers_share_one_queue_and_send_each_order_once(count: int, workers: Workers) -> None:
    """`count` workers take a third of the queue and are stopped with SIGTERM in the middle of it:
    each finishes its round (nothing is left `sending`) and exits 0. `count` fresh workers send
    the rest. Each order is sent by exactly one worker, once, and the work was shared."""
    args = ("--batch", "20", "--threads", "4")
    with TrackingUpstream(latency=0.005) as upstream:
        world = make_world(upstream, honours=False)
        groups: list[list[WorkerProcess]] = []
        for phase in ("first", "second"):
            group = [workers.start(upstream, *args) for _ in range(count)]
            groups.append(group)
            if phase == "first":
                ids = place_orders(world, range(ORDERS))  # while the workers start up
            for process in group:
                process.wait_started()
            if phase == "first":
                world.enable()
                workers.wait(
                    lambda: Order.objects.filter(provider_state=P.SENT).count() >= ORDERS // 3, "a third sent"
                )
            else:
                workers.wait(lambda: in_flight() == 0, "all sent")
            codes = terminate(group, STOP_TIMEOUT)
            assert codes == [0] * count, f"{phase} group, exit codes after SIGTERM: {codes}\n{workers.logs()}"
            # SIGTERM let each worker finish its round: every order it claimed is recorded.
            assert not Order.objects.filter(provider_state=P.SENDING).exists(), phase
            if phase == "first":
                left = Order.objects.filter(provider_state=P.QUEUED).count()
                assert left > 0, "the first group was not stopped in the middle of the queue"

    orders = Order.objects.filter(pk__in=ids)
    sent = orders.filter(provider_state=P.SENT, status=S.PENDING).exclude(provider_order_id="")
    assert sent.count() == ORDERS
    assert len(upstream.placed) == ORDERS
    keys = {idempotency_key(pk) for pk in ids}
    assert dict(upstream.placed_per_key) == dict.fromkeys(keys, 1)
    assert dict(upstream.adds_per_key()) == dict.fromkeys(keys, 1)  # not even a refused second `add`
    assert_sent_orders_match_upstream(upstream)
    assert set(orders.values_list("attempts", flat=True)) == {1}
    assert_ledger_intact(ORDERS)

    if not proc_available():
        return  # which process sent what cannot be observed without /proc: nothing more to check
    per_pid = upstream.adds_per_pid()
    everyone = {process.pid for group in groups for process in group}
    assert set(per_pid) <= everyone, f"an add from an unknown caller: {per_pid}"
    for number, group in enumerate(groups, 1):
        shares = {process.pid: per_pid[process.pid] for process in group}
        assert sum(1 for n in shares.values() if n) >= 2, (
            f"group {number}: one worker did all the work {shares}"
        )


# Workers killed at random points ---------------------------------------------------------

KILL_ORDERS = 500
KILL_UPFRONT = 300  # placed before the workers start; the rest while they run and die
KILLS_MIN, KILLS_MAX = 5, 10
LANDED_WANTED = 2  # kills that left orders `sending` after their `add` reached the provider


def ready(alive: list[WorkerProcess]) -> list[WorkerProcess]:
    """The workers that are past their start-up, waiting for one if none is yet."""
    deadline = time.monotonic() + 20
    while not (started := [process for process in alive if process.started()]):
        if time.monotonic() > deadline:
            raise AssertionError("no worker started within 20 s")
        time.sleep(0.02)
    return started


def stranded_by(worker: WorkerProcess, upstream: TrackingUpstream) -> int:
    """Orders still `sending` whose `add` this worker sent (it reached the provider)."""
    sent = [order_of(key) for key in upstream.keys_sent_by(worker.pid)]
    return Order.objects.filter(pk__in=sent, provider_state=P.SENDING).count()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settle(honours: bool) -> int:
    """What the surviving installation does later: the stale-claim sweep, then reconciliation.

    Run in this process with a clock past STALE_CLAIM, rather than waiting two real minutes.
    """
    worker = Worker(clock=Clock(timezone.now() + stale_claim() + timedelta(minutes=1)), threads=8)
    for rounds in range(1, 31):
        worker.run_once()
        left = Order.objects.filter(provider_state=P.SENDING)
        if honours:
            left = Order.objects.filter(provider_state__in=(P.SENDING, P.UNKNOWN))
        if not left.exists():
            return rounds
    raise AssertionError("orders still sending (or in doubt) after 30 rounds")


@pytest.mark.parametrize("honours", [True, False], ids=["idempotent-provider", "plain-provider"])
def test_killed_workers_lose_no_order_and_send_none_twice(honours: bool, workers: Workers) -> None:
    """Two workers at a time; 5-10 times one is SIGKILLed (after a random 0.05-0.5 s, every other
    time just after one of its `add`s was answered) and a new one started. 300 orders are queued
    before, 200 while they run and die. The rest is stopped with SIGTERM, then the stale-claim
    sweep and reconciliation run in this process with a clock past STALE_CLAIM.

    With a provider honouring Idempotency-Key, every order ends sent and placed upstream once;
    without, the orders left sending end in doubt (`unknown`, not refunded), none sent twice."""
    rng = random.Random(SEED + honours)
    context = f"seed={SEED + honours}"
    args = ("--batch", "12", "--threads", "4")
    with TrackingUpstream(latency=0.02, honours_idempotency=honours) as upstream:
        world = make_world(upstream, honours=honours)
        alive = [workers.start(upstream, *args) for _ in range(2)]
        ids = place_orders(world, range(KILL_UPFRONT))  # while the workers start up
        for process in alive:
            process.wait_started()
        world.enable()
        kills: list[tuple[int, float, int]] = []  # (pid, delay, orders it left sending after their add)
        top_up = (KILL_ORDERS - KILL_UPFRONT) // KILLS_MIN
        landed = 0
        while len(kills) < KILLS_MAX and (len(kills) < KILLS_MIN or landed < LANDED_WANTED):
            if len(ids) < KILL_ORDERS:
                ids += place_orders(world, range(len(ids), min(len(ids) + top_up, KILL_ORDERS)))
            victim = rng.choice(ready(alive))
            delay = rng.uniform(0.05, 0.5)
            time.sleep(delay)
            if len(kills) % 2:  # every other kill aimed: once an `add` of the victim is answered
                wait_until(lambda v=victim: stranded_by(v, upstream) > 0, 2.0)
            victim.kill()
            alive.remove(victim)
            stranded = stranded_by(victim, upstream)
            landed += stranded > 0
            kills.append((victim.pid, round(delay, 3), stranded))
            alive.append(workers.start(upstream, *args))  # starts while the others work on
        context += f" kills={kills}"
        workers.wait(
            lambda: not Order.objects.filter(provider_state=P.QUEUED).exists(), f"all claimed ({context})"
        )
        codes = terminate(alive, STOP_TIMEOUT)
        assert codes == [0] * len(alive), f"exit codes after SIGTERM: {codes} ({context})\n{workers.logs()}"

        assert len(ids) == KILL_ORDERS
        stranded_ids = set(Order.objects.filter(provider_state=P.SENDING).values_list("pk", flat=True))
        reached = {order_of(key) for key in upstream.adds_per_key()}
        context += f" stranded={len(stranded_ids)} stranded_after_add={len(stranded_ids & reached)}"
        # The test proves something only if kills did land between `add` and its record.
        assert landed >= 1 and stranded_ids & reached, context
        rounds = settle(honours)
        context += f" settled_in={rounds}"

    orders = Order.objects.filter(pk__in=ids)
    assert orders.count() == KILL_ORDERS
    assert in_flight() == 0, context  # none lost: every order ends sent or in doubt
    assert set(orders.values_list("status", flat=True)) == {S.PENDING}, context
    assert_sent_orders_match_upstream(upstream)
    assert_ledger_intact(KILL_ORDERS)  # no refund: nothing finished, nothing in doubt refunded
    # Orders put in doubt: those the killed workers left sending (swept after STALE_CLAIM),
    # and any whose `add` got no answer in time while the workers ran.
    doubted = set(OrderEvent.objects.filter(kind="in_doubt").values_list("order_id", flat=True))
    assert stranded_ids <= doubted, context
    adds = upstream.adds_per_key()
    if honours:
        # Every order ends sent and placed upstream exactly once, though those in doubt were sent twice.
        assert orders.filter(provider_state=P.SENT).count() == KILL_ORDERS, context
        keys = {idempotency_key(pk) for pk in ids}
        assert dict(upstream.placed_per_key) == dict.fromkeys(keys, 1), context
        assert len(upstream.placed) == KILL_ORDERS, context
        resent = set(orders.filter(attempts__gt=1).values_list("pk", flat=True))
        assert resent == doubted, f"only orders in doubt are sent again ({context})"
        # Some reached the provider before their worker died: the second `add` got the first order.
        assert any(adds[idempotency_key(pk)] == 2 for pk in stranded_ids & reached), context
    else:
        # Nothing resent blindly: the orders in doubt wait for the operator.
        unknown = set(orders.filter(provider_state=P.UNKNOWN).values_list("pk", flat=True))
        assert unknown == doubted, context
        assert orders.filter(provider_state=P.SENT).count() == KILL_ORDERS - len(unknown), context
        assert max(upstream.placed_per_key.values()) == 1, f"an order was placed twice ({context})"
        assert max(adds.values()) == 1, f"an order was sent twice ({context})"
        assert set(orders.values_list("attempts", flat=True)) == {1}, context
        assert len(upstream.placed) == len(reached), context


# Claims under contention ----------------------------------------------------------------


def test_a_claim_in_progress_leaves_the_rest_of_the_queue_to_other_workers() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks across connections: PostgreSQL only (SQLite claims by compare-and-swap)")
    with TrackingUpstream() as upstream:
        world = make_world(upstream, honours=False)
    world.enable()
    ids = place_orders(world, range(100))
    now = timezone.now()
    holding, release = threading.Event(), threading.Event()
    first: list[int] = []

    def first_worker() -> None:
        try:
            with transaction.atomic():  # the claim's transaction, held open a moment longer
                first.extend(claim_orders(Order.objects.filter(due(now)).order_by("id"), now, 50))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    try:
        assert holding.wait(10)
        second = claim_orders(Order.objects.filter(due(now)).order_by("id"), now, 50)
    finally:
        release.set()
        thread.join()
    assert first == ids[:50]
    assert second == ids[50:], f"the second worker claimed {len(second)} of the 50 orders left"


def test_an_answer_after_another_worker_swept_the_claim_is_still_recorded() -> None:
    """A live worker's claim can outlast STALE_CLAIM (defaults: 50 orders a round, 16 threads,
    30 s timeout: four waves of calls take up to 2 minutes). Another worker then turns the order
    `unknown`; when the provider's answer comes, the order must still get its provider id."""
    with TrackingUpstream() as upstream:
        world = make_world(upstream, honours=False)
        world.enable()
        [order_id] = place_orders(world, range(1))
        upstream.fault("add", "slow", delay=1.0)
        start = timezone.now()

        def slow_worker() -> None:
            try:
                Worker(clock=Clock(start), threads=1).run_once()
            finally:
                connection.close()

        thread = threading.Thread(target=slow_worker)
        thread.start()
        try:
            assert wait_until(lambda: len(upstream.adds) == 1, 10), "the add never reached the provider"
            later = Worker(clock=Clock(start + stale_claim() + timedelta(seconds=1)), threads=1)
            later.run_once()  # its sweep: the claim looks stale, the order goes in doubt
            assert Order.objects.get(pk=order_id).provider_state == P.UNKNOWN
        finally:
            thread.join()
    order = Order.objects.get(pk=order_id)
    assert len(upstream.placed) == 1
    assert (order.provider_state, order.provider_order_id) == (P.SENT, upstream.placed[0].id)
