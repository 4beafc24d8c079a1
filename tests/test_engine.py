"""The engine with the simulated and a scripted provider, time controlled, not slept."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.engine import dispatch
from smmpanel.engine.upstream import add_request, in_panel_currency
from smmpanel.engine.worker import Worker
from smmpanel.ledger import totals
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders import transitions
from smmpanel.orders.models import Order, OrderEvent
from smmpanel.providers import adapters
from smmpanel.providers.answers import InDoubt, Placed, Refusal, UpstreamStatus

S, P = Order.Status, Order.ProviderState


def said(status, start_count=None, remains=None, *, charge=None):
    """What a provider says of an order."""
    return UpstreamStatus(status, charge=charge, start_count=start_count, remains=remains)


class Scripted:
    """A provider whose answers the test decides; it counts what it was sent."""

    resend_is_safe = False

    def __init__(self) -> None:
        self.answers: list[object] = []
        self.sent: list[int] = []
        self.reports: dict[int, UpstreamStatus] = {}

    def place(self, request):
        self.sent.append(request.ref)
        return self.answers.pop(0) if self.answers else Placed(f"up-{request.ref}", Decimal("0.01"))

    def progress(self, requests, now):
        return {r.ref: self.reports[r.ref] for r in requests if r.ref in self.reports}

    def cancel(self, requests):
        return {r.ref: None for r in requests}

    def refill(self, request):
        return f"refill-{request.ref}"

    def refill_statuses(self, requests, now):
        return {}

    def flush(self):
        pass


@pytest.fixture
def worker(clock):
    return Worker(clock=clock, threads=4)


@pytest.fixture
def scripted(catalogue, monkeypatch):
    fake = Scripted()
    monkeypatch.setitem(adapters.ADAPTERS, "scripted", lambda provider: fake)
    provider = Provider.objects.create(name="Scripted", kind="scripted")
    Service.objects.filter(pk=catalogue.default.pk).update(provider=provider)
    return fake


@pytest.fixture
def simulated(catalogue, settings):
    settings.SMMPANEL_SIMULATOR_SECONDS = 60
    provider = Provider.objects.create(name="Simulator", kind=Provider.Kind.SIMULATED)
    Service.objects.filter(pk__in=[catalogue.default.pk, catalogue.package.pk]).update(provider=provider)
    return provider


def order(api, customer, catalogue, link="x.com/a", **extra):
    answer = api.post(
        "v2", key=customer.key, action="add", service=catalogue.default.pk, link=link, quantity=1000, **extra
    )
    return Order.objects.get(pk=answer["order"])


def refunds(o):
    return sum(e.amount for e in LedgerEntry.objects.filter(order=o, kind="refund"))


def test_an_order_is_sent_followed_and_completed(api, alice, catalogue, simulated, worker, clock):
    placed = order(api, alice, catalogue)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.provider_state, placed.provider_order_id, placed.attempts) == (
        P.SENT,
        f"sim-{placed.pk}",
        1,
    )
    assert placed.cost == Decimal("0.54")  # the simulator's cost: 60 % of the charge
    clock.advance(seconds=31)
    worker.run_once()
    placed.refresh_from_db()
    assert placed.status in (S.PENDING, S.IN_PROGRESS) and placed.start_count > 0
    for _ in range(20):
        clock.advance(minutes=5)
        worker.run_once()
    placed.refresh_from_db()
    assert placed.status in Order.FINAL
    expected = {S.COMPLETED: Decimal(0), S.CANCELED: placed.charge}.get(
        placed.status, (placed.charge * placed.remains / 1000).quantize(Decimal("0.000001"), "ROUND_DOWN")
    )
    assert refunds(placed) == expected
    assert list(mismatches()) == []


def test_many_simulated_orders_end_with_exact_refunds(
    api, alice, catalogue, simulated, worker, clock, settings
):
    settings.SMMPANEL_SIMULATOR_PARTIAL_PERCENT = 30
    settings.SMMPANEL_SIMULATOR_CANCEL_PERCENT = 20
    orders = [order(api, alice, catalogue, link=f"x.com/{n}") for n in range(30)]
    for _ in range(30):
        worker.run_once()
        clock.advance(minutes=2)
    statuses = set()
    for o in orders:
        o.refresh_from_db()
        statuses.add(o.status)
        if o.status == S.COMPLETED:
            assert refunds(o) == 0 and o.remains == 0
        elif o.status == S.CANCELED:
            assert refunds(o) == o.charge
        else:
            assert o.status == S.PARTIAL and 0 < o.remains < 1000
            assert refunds(o) == (o.charge * o.remains / 1000).quantize(Decimal("0.000001"), "ROUND_DOWN")
    assert statuses == {S.COMPLETED, S.PARTIAL, S.CANCELED}
    assert list(mismatches()) == []


def test_a_refusal_cancels_and_refunds_by_default(api, alice, catalogue, scripted, worker):
    scripted.answers = [Refusal("Not enough funds on balance")]
    placed = order(api, alice, catalogue)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.provider_state, placed.status) == (P.FAILED, S.CANCELED)
    assert placed.provider_error == "Not enough funds on balance"
    assert refunds(placed) == placed.charge
    assert alice.balance() == Decimal(100)


def test_a_refusal_may_be_retried_later(api, alice, catalogue, scripted, worker, clock):
    Service.objects.filter(pk=catalogue.default.pk).update(on_refusal=Service.OnRefusal.RETRY)
    scripted.answers = [Refusal("busy")]
    placed = order(api, alice, catalogue)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.provider_state, placed.status) == (P.QUEUED, S.PENDING)
    worker.run_once()
    assert scripted.sent == [placed.pk]  # not before the retry delay
    clock.advance(minutes=11)
    worker.run_once()
    placed.refresh_from_db()
    assert scripted.sent == [placed.pk, placed.pk] and placed.provider_state == P.SENT
    assert placed.attempts == 2


def test_a_refusal_may_be_held_for_the_operator(api, alice, catalogue, scripted, worker):
    Service.objects.filter(pk=catalogue.default.pk).update(on_refusal=Service.OnRefusal.HOLD)
    scripted.answers = [Refusal("service disabled")]
    placed = order(api, alice, catalogue)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.provider_state, placed.status) == (P.FAILED, S.PENDING)
    assert refunds(placed) == 0


def test_an_answer_in_doubt_is_never_resent_nor_refunded(api, alice, catalogue, scripted, worker, clock):
    scripted.answers = [InDoubt("timed out after 30 s")]
    placed = order(api, alice, catalogue)
    for _ in range(5):
        worker.run_once()
        clock.advance(minutes=10)
    placed.refresh_from_db()
    assert (placed.provider_state, placed.status) == (P.UNKNOWN, S.PENDING)
    assert scripted.sent == [placed.pk]
    assert refunds(placed) == 0


def test_an_order_in_doubt_is_resent_where_that_is_safe(api, alice, catalogue, scripted, worker):
    scripted.resend_is_safe = True  # e.g. a provider honouring Idempotency-Key
    scripted.answers = [InDoubt("connection dropped")]
    placed = order(api, alice, catalogue)
    worker.run_once()  # in doubt ...
    worker.run_once()  # ... then reconciled by sending again
    placed.refresh_from_db()
    assert placed.provider_state == P.SENT and scripted.sent == [placed.pk, placed.pk]


def test_a_claim_left_by_a_dead_worker_becomes_in_doubt(api, alice, catalogue, scripted, worker, clock):
    placed = order(api, alice, catalogue)
    assert transitions.claim(placed.pk, clock())  # a worker claimed it, then died
    worker.run_once()
    placed.refresh_from_db()
    assert placed.provider_state == P.SENDING and scripted.sent == []
    clock.advance(minutes=11)
    worker.run_once()
    placed.refresh_from_db()
    assert placed.provider_state == P.UNKNOWN and scripted.sent == []


def test_an_order_canceled_before_sending_never_leaves(api, alice, catalogue, scripted, worker):
    placed = order(api, alice, catalogue)
    api.post("v2", key=alice.key, action="cancel", orders=str(placed.pk))
    worker.run_once()
    placed.refresh_from_db()
    assert placed.status == S.CANCELED and scripted.sent == []
    assert refunds(placed) == placed.charge and alice.balance() == Decimal(100)


def test_a_partial_is_refunded_once_whatever_the_retries(api, alice, catalogue, scripted, worker, clock):
    placed = order(api, alice, catalogue)
    worker.run_once()
    scripted.reports[placed.pk] = said(S.PARTIAL, 10, 250)
    clock.advance(minutes=1)
    worker.run_once()
    assert transitions.finish(placed.pk, S.PARTIAL, 250, clock()) is False
    assert transitions.finish(placed.pk, S.CANCELED, None, clock()) is False
    placed.refresh_from_db()
    assert (placed.status, placed.remains) == (S.PARTIAL, 250)
    assert refunds(placed) == Decimal("0.225")  # 0.9 x 250 / 1000
    assert LedgerEntry.objects.filter(order=placed, kind="refund").count() == 1


def test_orders_that_do_not_move_are_checked_less_often(api, alice, catalogue, scripted, worker, clock):
    placed = order(api, alice, catalogue)
    worker.run_once()
    scripted.reports[placed.pk] = said(S.IN_PROGRESS, 5, 1000)
    delays = []
    for _ in range(5):
        placed.refresh_from_db()
        clock.now = placed.next_check_at
        worker.run_once()
        placed.refresh_from_db()
        delays.append(placed.next_check_at - clock.now)
    assert delays[1:] == [
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(seconds=240),
        timedelta(seconds=480),
    ]


def test_drip_feed_runs_are_released_on_schedule(api, alice, catalogue, scripted, worker, clock):
    parent = order(api, alice, catalogue, runs=3, interval=30)  # charge 0.9 x 3 = 2.7
    worker.run_once()
    assert list(parent.children.values_list("kind", flat=True)) == ["run"]
    clock.advance(minutes=29)
    worker.run_once()
    assert parent.children.count() == 1
    clock.advance(minutes=1)
    worker.run_once()
    assert parent.children.count() == 2
    clock.advance(minutes=30)
    worker.run_once()
    runs = list(parent.children.order_by("id"))
    assert len(runs) == 3 and sum(r.charge for r in runs) == parent.charge
    assert scripted.sent == [r.pk for r in runs]
    status = api.post("v2", key=alice.key, action="status", order=parent.pk)
    assert (status["runs"], status["orders"], status["status"]) == ("3", [r.pk for r in runs], "In progress")
    for run, outcome in zip(runs, [S.COMPLETED, S.PARTIAL, S.COMPLETED], strict=True):
        scripted.reports[run.pk] = said(outcome, 1, 400 if outcome == S.PARTIAL else 0)
    clock.advance(hours=1)  # past every run's next check, backed off while nothing moved
    worker.run_once()
    parent.refresh_from_db()
    assert (parent.status, parent.remains) == (S.PARTIAL, 400)
    assert refunds(runs[1]) == Decimal("0.36")
    assert list(mismatches()) == []


def test_a_drip_feed_parent_follows_its_runs(api, alice, catalogue, scripted, worker, clock):
    parent = order(api, alice, catalogue, runs=3, interval=30)  # 3 runs of 1000
    worker.run_once()
    first = parent.children.get()
    scripted.reports[first.pk] = said(S.IN_PROGRESS, 5000, 600)
    clock.advance(minutes=1)
    worker.run_once()
    parent.refresh_from_db()
    # Its start count is its first run's; 600 of the first run and the two runs to come remain.
    assert (parent.status, parent.start_count, parent.remains) == (S.IN_PROGRESS, 5000, 2600)
    scripted.reports[first.pk] = said(S.COMPLETED, 5000, 0)
    clock.advance(minutes=29)
    worker.run_once()  # the first run completes, the second is released and sent
    second = parent.children.exclude(pk=first.pk).get()
    scripted.reports[second.pk] = said(S.IN_PROGRESS, 5400, 250)
    clock.advance(minutes=1)
    worker.run_once()
    parent.refresh_from_db()
    assert (parent.status, parent.start_count, parent.remains) == (S.IN_PROGRESS, 5000, 1250)
    for dialect in ("v2", "v1"):
        status = api.post(dialect, key=alice.key, action="status", order=parent.pk)
        assert (status["start_count"], status["remains"], status["runs"]) == ("5000", "1250", "2")
    assert refunds(parent) == 0 and list(mismatches()) == []


@pytest.mark.parametrize(
    ("outcomes", "status", "remains"),
    [
        ([(S.COMPLETED, 0), (S.COMPLETED, 0)], S.COMPLETED, 0),
        ([(S.CANCELED, None), (S.CANCELED, None)], S.CANCELED, 2000),
        ([(S.COMPLETED, 0), (S.PARTIAL, 400)], S.PARTIAL, 400),
        ([(S.CANCELED, None), (S.COMPLETED, 0)], S.PARTIAL, 1000),
    ],
    ids=["all-completed", "all-canceled", "one-partial", "one-canceled"],
)
def test_a_drip_feed_order_ends_with_its_last_run_and_sums_their_outcomes(
    api, alice, catalogue, scripted, worker, clock, outcomes, status, remains
):
    parent = order(api, alice, catalogue, runs=2, interval=30)  # 2 runs of 1000
    worker.run_once()
    clock.advance(minutes=30)
    worker.run_once()  # the last run is out: the parent is sent
    first, second = parent.children.order_by("id")
    (first_status, first_remains), (second_status, second_remains) = outcomes
    transitions.finish(first.pk, first_status, first_remains, clock())
    parent.refresh_from_db()
    assert parent.status not in (S.COMPLETED, S.PARTIAL, S.CANCELED) and parent.finished_at is None
    clock.advance(minutes=5)
    transitions.finish(second.pk, second_status, second_remains, clock())
    parent.refresh_from_db()
    assert (parent.status, parent.remains, parent.finished_at) == (status, remains, clock())
    assert last_event(parent) == ("finished", {"status": status, "remains": remains, "start_count": 0})
    assert transitions.settle_dripfeed(parent.pk, clock()) is False  # ended once
    assert list(mismatches()) == []


def test_settling_a_drip_feed_says_whether_it_ended(api, alice, catalogue, scripted, worker, clock):
    parent = order(api, alice, catalogue, runs=2, interval=30)
    worker.run_once()
    first = parent.children.get()
    Order.objects.filter(pk=first.pk).update(status=S.COMPLETED, remains=0)
    assert transitions.settle_dripfeed(parent.pk, clock()) is False  # a run still to come
    clock.advance(minutes=30)
    worker.run_once()
    second = parent.children.exclude(pk=first.pk).get()
    assert transitions.settle_dripfeed(parent.pk, clock()) is False  # the second run is not over
    Order.objects.filter(pk=second.pk).update(status=S.COMPLETED, remains=0)
    assert transitions.settle_dripfeed(parent.pk, clock()) is True
    parent.refresh_from_db()
    assert (parent.status, parent.remains) == (S.COMPLETED, 0)


def test_canceling_a_drip_feed_refunds_the_runs_not_released(api, alice, catalogue, scripted, worker, clock):
    parent = order(api, alice, catalogue, runs=4, interval=60)  # 3.6 in all, 0.9 a run
    worker.run_once()
    api.post("v2", key=alice.key, action="cancel", order=str(parent.pk))
    clock.advance(minutes=61)
    worker.run_once()
    assert parent.children.count() == 1
    assert LedgerEntry.objects.get(order=parent, kind="refund").amount == Decimal("2.7")
    run = parent.children.get()
    assert run.cancel_requested_at is not None
    scripted.reports[run.pk] = said(S.COMPLETED, 1, 0)
    clock.advance(hours=1)
    worker.run_once()
    parent.refresh_from_db()
    assert (parent.status, parent.remains) == (S.PARTIAL, 3000)
    assert alice.balance() == Decimal("99.1")
    assert list(mismatches()) == []


def test_a_canceled_drip_feed_with_one_run_never_released_is_partial(
    api, alice, catalogue, scripted, worker, clock
):
    parent = order(api, alice, catalogue, runs=2, interval=60)  # 1.8 in all, 0.9 a run
    worker.run_once()
    api.post("v2", key=alice.key, action="cancel", order=str(parent.pk))
    clock.advance(minutes=61)
    worker.run_once()
    run = parent.children.get()
    scripted.reports[run.pk] = said(S.COMPLETED, 1, 0)
    clock.advance(hours=1)
    worker.run_once()
    parent.refresh_from_db()
    assert (parent.status, parent.remains) == (S.PARTIAL, 1000)  # the run delivered, one never went
    assert alice.balance() == Decimal("99.1")
    assert list(mismatches()) == []


def test_a_canceled_drip_feed_whose_only_run_was_canceled_is_canceled(
    api, alice, catalogue, scripted, worker, clock
):
    parent = order(api, alice, catalogue, runs=4, interval=60)
    worker.run_once()
    api.post("v2", key=alice.key, action="cancel", order=str(parent.pk))
    clock.advance(minutes=61)
    worker.run_once()
    run = parent.children.get()
    transitions.finish(run.pk, S.CANCELED, None, clock())
    parent.refresh_from_db()
    assert (parent.status, parent.remains) == (S.CANCELED, 4000)
    assert alice.balance() == Decimal("100")
    assert list(mismatches()) == []


def test_run_shares_add_up_to_the_charge():
    from smmpanel.orders.dripfeed import run_share

    for charge, runs in [("1", 3), ("0.000005", 4), ("2.7", 3), ("10.000001", 7)]:
        shares = [run_share(Decimal(charge), runs, i) for i in range(runs)]
        assert sum(shares) == Decimal(charge) and all(s >= 0 for s in shares)


def test_orders_of_services_without_a_provider_wait(api, alice, catalogue, worker):
    placed = order(api, alice, catalogue)
    worker.run_once()
    placed.refresh_from_db()
    assert placed.provider_state == P.QUEUED
    assert dispatch.dispatch(worker.clock) == 0


def test_a_completed_order_refunds_nothing_whatever_remains_the_provider_reports(
    api, alice, catalogue, scripted, worker, clock
):
    # Some providers report Completed with remains left over (overdelivery, stale counters):
    # Completed means delivered, so nothing goes back to the customer.
    placed = order(api, alice, catalogue)
    worker.run_once()
    scripted.reports[placed.pk] = said(S.COMPLETED, 10, 300)
    clock.advance(minutes=1)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.status, placed.remains) == (S.COMPLETED, 0)
    assert refunds(placed) == 0
    assert alice.balance() == Decimal(100) - placed.charge
    assert list(mismatches()) == []


def test_a_partial_with_nothing_left_refunds_nothing(api, alice, catalogue, scripted, worker, clock):
    # remains 0 is an answer ("all delivered"), not a missing one: no refund, not a full refund.
    placed = order(api, alice, catalogue)
    worker.run_once()
    scripted.reports[placed.pk] = said(S.PARTIAL, 10, 0)
    clock.advance(minutes=1)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.status, placed.remains) == (S.PARTIAL, 0)
    assert refunds(placed) == 0
    assert alice.balance() == Decimal(100) - placed.charge


# Each transition on its own: what it sets, whether it says it moved, and the event it leaves
# (the order's history is what the operator reads when a customer asks what happened).


def last_event(o):
    event = o.events.order_by("-id").first()
    return event.kind, event.data


def test_a_request_that_never_left_is_queued_again_later(api, alice, catalogue, clock):
    placed = order(api, alice, catalogue)
    assert transitions.claim(placed.pk, clock())
    assert transitions.requeue(placed.pk, "no connection", clock(), delay=timedelta(minutes=2)) is True
    assert transitions.requeue(placed.pk, "again", clock()) is False  # no longer sending
    placed.refresh_from_db()
    assert (placed.provider_state, placed.provider_error) == (P.QUEUED, "no connection")
    assert placed.next_check_at == clock() + timedelta(minutes=2)
    assert last_event(placed) == ("not_sent", {"reason": "no connection"})


def test_a_long_reason_for_queueing_again_is_cut_to_its_columns(api, alice, catalogue, clock):
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    assert transitions.requeue(placed.pk, "n" * 3000, clock()) is True
    placed.refresh_from_db()
    assert placed.provider_error == "n" * 2000
    assert last_event(placed) == ("not_sent", {"reason": "n" * 500})


def test_an_order_in_doubt_is_claimed_again_for_a_safe_resend(api, alice, catalogue, clock):
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    transitions.in_doubt(placed.pk, "timeout", clock())
    placed.refresh_from_db()
    attempts = placed.attempts
    clock.advance(minutes=3)
    assert transitions.reclaim(placed.pk, clock()) is True
    assert transitions.reclaim(placed.pk, clock()) is False  # no longer in doubt
    placed.refresh_from_db()
    assert (placed.provider_state, placed.claimed_at, placed.attempts) == (P.SENDING, clock(), attempts + 1)


def test_an_answer_lost_on_the_way_leaves_the_order_in_doubt_with_its_reason(api, alice, catalogue, clock):
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    assert transitions.in_doubt(placed.pk, "t" * 3000, clock()) is True
    assert transitions.in_doubt(placed.pk, "again", clock()) is False  # no longer sending
    placed.refresh_from_db()
    assert (placed.provider_state, placed.provider_error) == (P.UNKNOWN, "t" * 2000)
    assert last_event(placed) == ("in_doubt", {"reason": "t" * 500})


@pytest.mark.parametrize(
    ("status", "reported", "remains", "refund"),
    [
        (S.PARTIAL, 400, 400, "0.360000"),
        (S.COMPLETED, 400, 0, "0.000000"),
        (S.CANCELED, 300, 1000, "0.900000"),  # Canceled: nothing delivered, whatever remains says
        (S.PARTIAL, None, 1000, "0.900000"),  # no remains reported: treated as nothing delivered
    ],
)
def test_finishing_records_status_remains_and_refund_in_its_event_and_ledger(
    api, alice, catalogue, clock, status, reported, remains, refund
):
    placed = order(api, alice, catalogue)  # 1000 units at 0.90 per 1000: charge 0.90
    clock.advance(minutes=7)
    assert transitions.finish(placed.pk, status, reported, clock(), start_count=1234) is True
    assert transitions.finish(placed.pk, S.COMPLETED, 0, clock()) is False  # already final
    placed.refresh_from_db()
    assert (placed.status, placed.remains, placed.finished_at) == (status, remains, clock())
    assert placed.start_count == 1234
    facts = {"status": status, "remains": remains, "start_count": 1234, "refund": refund}
    assert last_event(placed) == ("finished", facts)
    refunded = LedgerEntry.objects.filter(order=placed, kind="refund")
    entries = list(refunded.values_list("amount", "created_at"))
    assert entries == ([(Decimal(refund), clock())] if Decimal(refund) else [])


def test_a_refusal_keeps_its_reason_and_policy(api, alice, catalogue, clock):
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    reason = "r" * 3000
    assert transitions.refused(placed.pk, reason, "hold", clock()) is True
    assert transitions.refused(placed.pk, reason, "hold", clock()) is False  # no longer sending
    placed.refresh_from_db()
    assert (placed.provider_state, placed.provider_error) == (P.FAILED, "r" * 2000)
    assert last_event(placed) == ("refused", {"reason": "r" * 500, "policy": "hold"})


@pytest.mark.parametrize("in_doubt_first", [False, True], ids=["sending", "in-doubt"])
def test_a_sent_order_records_the_providers_id_cost_and_first_check(
    api, alice, catalogue, clock, in_doubt_first
):
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    if in_doubt_first:
        transitions.in_doubt(placed.pk, "timeout", clock())
    assert transitions.sent(placed.pk, "up-7", Decimal("0.5"), clock()) is True
    assert transitions.sent(placed.pk, "up-8", Decimal("0.6"), clock()) is False
    placed.refresh_from_db()
    assert (placed.provider_state, placed.provider_order_id, placed.cost, placed.provider_error) == (
        P.SENT,
        "up-7",
        Decimal("0.5"),
        "",
    )
    assert (placed.sent_at, placed.next_check_at) == (clock(), clock() + transitions.first_check())
    assert last_event(placed) == ("sent", {"provider_order_id": "up-7"})


def test_an_order_canceled_before_sending_says_so_once(api, alice, catalogue, clock):
    placed = order(api, alice, catalogue)
    assert transitions.cancel_before_sending(placed.pk, clock()) is True
    assert transitions.cancel_before_sending(placed.pk, clock()) is False
    placed.refresh_from_db()
    assert (placed.status, placed.provider_state) == (S.CANCELED, P.FAILED)
    assert placed.provider_error == "canceled before sending"
    assert [e.kind for e in placed.events.order_by("id")][-2:] == ["canceled_before_sending", "finished"]
    assert refunds(placed) == placed.charge


@pytest.mark.parametrize("requeue", [True, False])
def test_the_operators_verdict_on_an_order_in_doubt_is_recorded(api, alice, catalogue, clock, requeue):
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    transitions.in_doubt(placed.pk, "timeout", clock())
    Order.objects.filter(pk=placed.pk).update(next_check_at=clock())
    assert transitions.not_sent(placed.pk, clock(), requeue=requeue) is True
    assert transitions.not_sent(placed.pk, clock(), requeue=requeue) is False
    placed.refresh_from_db()
    if requeue:
        assert (placed.provider_state, placed.next_check_at, placed.status) == (P.QUEUED, None, S.PENDING)
    else:
        assert (placed.provider_state, placed.status) == (P.FAILED, S.CANCELED)
    kinds = list(placed.events.filter(kind="reconciled_not_sent").values_list("data", flat=True))
    assert kinds == [{"requeued": requeue}]


def test_the_back_off_doubles_at_most_ten_times_and_never_passes_an_hour(settings):
    settings.SMMPANEL_FIRST_CHECK_SECONDS = 1
    assert [transitions.check_delay(n).total_seconds() for n in (0, 1, 9, 10, 11, 50)] == [
        1,
        2,
        512,
        1024,
        1024,
        1024,
    ]
    settings.SMMPANEL_FIRST_CHECK_SECONDS = 30
    assert transitions.check_delay(10) == transitions.check_delay(500) == timedelta(hours=1)


def test_a_provider_reporting_nothing_left_of_an_order_in_progress_shows_zero(
    api, alice, catalogue, scripted, worker, clock
):
    placed = order(api, alice, catalogue)
    worker.run_once()
    scripted.reports[placed.pk] = said(S.IN_PROGRESS, 10, 0)
    clock.advance(minutes=1)
    worker.run_once()
    placed.refresh_from_db()
    assert (placed.status, placed.start_count, placed.remains) == (S.IN_PROGRESS, 10, 0)


def test_a_batch_of_status_checks_records_each_order_once_and_says_how_many_moved(
    api, alice, catalogue, clock
):
    def sent(link, cost=None):
        placed = order(api, alice, catalogue, link=link)
        transitions.claim(placed.pk, clock())
        transitions.sent(placed.pk, f"up-{placed.pk}", cost, clock())
        return placed

    moving, still, done, other_done, priced, queued = (
        sent("x.com/moving", Decimal("0.5")),
        sent("x.com/still", Decimal("0.5")),
        sent("x.com/done"),
        sent("x.com/other-done"),
        sent("x.com/priced", Decimal("0.5")),
        order(api, alice, catalogue, link="x.com/queued"),  # never sent: not the provider's to report
    )
    Order.objects.filter(pk__in=[still.pk, moving.pk]).update(unchanged_checks=2)
    clock.advance(minutes=3)
    reports = {
        moving.pk: said(S.IN_PROGRESS, 10, 600, charge=None),  # no cost said: kept
        still.pk: said(S.PENDING, None, None, charge=Decimal("0.5")),  # same cost
        done.pk: said(S.COMPLETED, 77, 0),
        other_done.pk: said(S.PARTIAL, 5, 100),
        priced.pk: said(S.PENDING, None, None, charge=Decimal("0.7")),
        queued.pk: said(S.COMPLETED, 1, 0),
    }
    assert transitions.progress_many(reports, clock()) == 3  # moving, done, other_done

    moving.refresh_from_db()
    assert (moving.status, moving.start_count, moving.remains, moving.cost) == (
        S.IN_PROGRESS,
        10,
        600,
        Decimal("0.5"),
    )
    assert (moving.unchanged_checks, moving.updated_at) == (0, clock())
    assert moving.next_check_at == clock() + transitions.check_delay(0)
    assert last_event(moving) == ("progress", {"status": S.IN_PROGRESS, "remains": 600, "start_count": 10})

    still.refresh_from_db()
    assert (still.unchanged_checks, still.updated_at, still.cost) == (3, clock(), Decimal("0.5"))
    assert still.next_check_at == clock() + transitions.check_delay(3)

    done.refresh_from_db()
    assert (done.status, done.start_count) == (S.COMPLETED, 77)
    priced.refresh_from_db()
    assert (priced.cost, priced.status) == (Decimal("0.7"), S.PENDING)
    queued.refresh_from_db()
    assert (queued.status, queued.provider_state) == (S.PENDING, P.QUEUED)


def test_a_claim_takes_the_services_provider_of_the_moment(api, alice, catalogue, clock):
    provider = Provider.objects.create(name="Now", kind="scripted")
    placed = order(api, alice, catalogue)
    Service.objects.filter(pk=catalogue.default.pk).update(provider=provider)  # changed after the order
    clock.advance(minutes=1)
    assert transitions.claim(placed.pk, clock()) is True
    placed.refresh_from_db()
    assert (placed.provider_state, placed.provider_id, placed.claimed_at, placed.updated_at) == (
        P.SENDING,
        provider.pk,
        clock(),
        clock(),
    )


def test_a_batch_of_sent_orders_records_each_providers_id_cost_and_event(api, alice, catalogue, clock):
    assert transitions.sent_many({}, clock()) == 0
    sending, in_doubt, queued = (order(api, alice, catalogue, link=f"x.com/{n}") for n in range(3))
    for o in (sending, in_doubt):
        transitions.claim(o.pk, clock())
    transitions.in_doubt(in_doubt.pk, "timeout", clock())
    clock.advance(minutes=2)
    placed = {
        sending.pk: ("up-1", Decimal("0.25")),
        in_doubt.pk: ("up-2", None),  # a late answer after the sweep
        queued.pk: ("up-3", Decimal("1")),  # never claimed: not this batch's
    }
    assert transitions.sent_many(placed, clock()) == 2
    for o, (upstream, cost) in ((sending, placed[sending.pk]), (in_doubt, placed[in_doubt.pk])):
        o.refresh_from_db()
        assert (o.provider_state, o.provider_order_id, o.cost) == (P.SENT, upstream, cost)
        assert o.provider_error == ""
        assert (o.sent_at, o.updated_at) == (clock(), clock())
        assert o.next_check_at == clock() + transitions.first_check()
        assert last_event(o) == ("sent", {"provider_order_id": upstream})
    queued.refresh_from_db()
    assert (queued.provider_state, queued.provider_order_id) == (P.QUEUED, "")


def test_a_new_order_records_its_charge_at_the_moment_it_was_placed(api, alice, catalogue):
    placed = order(api, alice, catalogue)
    charge = LedgerEntry.objects.get(order=placed, kind="charge")
    assert charge.created_at == placed.created_at
    [created] = placed.events.filter(kind="created")
    assert (created.data, created.created_at) == ({"charge": str(placed.charge)}, placed.created_at)


def test_a_batch_of_sent_orders_changes_only_the_orders_in_it(api, alice, catalogue, clock):
    first, second = order(api, alice, catalogue, link="x.com/a"), order(api, alice, catalogue, link="x.com/b")
    Order.objects.filter(pk__in=[first.pk, second.pk]).update(provider_state=P.SENDING)
    assert transitions.sent_many({first.pk: ("up-1", Decimal("0.5"))}, clock()) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.provider_state, first.provider_order_id, first.cost) == (P.SENT, "up-1", Decimal("0.5"))
    assert (second.provider_state, second.provider_order_id) == (P.SENDING, "")


def test_a_drip_feed_parent_reports_its_first_runs_start_count_when_that_run_ends_at_once(
    api, alice, catalogue, scripted, worker, clock
):
    parent = order(api, alice, catalogue, runs=2, interval=30)
    worker.run_once()
    first = parent.children.get()
    scripted.reports[first.pk] = said(S.COMPLETED, 4321, 0)  # its first answer ends it
    clock.advance(minutes=1)
    worker.run_once()
    parent.refresh_from_db()
    assert (parent.status, parent.start_count) == (S.IN_PROGRESS, 4321)
    clock.advance(minutes=29)
    worker.run_once()  # the second run is released and sent
    second = parent.children.exclude(pk=first.pk).get()
    scripted.reports[second.pk] = said(S.COMPLETED, 9999, 0)
    clock.advance(minutes=1)
    worker.run_once()
    parent.refresh_from_db()
    assert (parent.status, parent.start_count) == (S.COMPLETED, 4321)
    for dialect in ("v2", "v1"):
        assert api.post(dialect, key=alice.key, action="status", order=parent.pk)["start_count"] == "4321"
    assert last_event(parent) == ("finished", {"status": S.COMPLETED, "remains": 0, "start_count": 4321})


def _first_lock(queries, order_id, many=False):
    """Index of the first locking read of the order row (SQLite has no FOR UPDATE: its SELECT)."""
    wanted = f'"orders_order"."id" IN ({order_id})' if many else f'"orders_order"."id" = {order_id}'
    for index, query in enumerate(queries.captured_queries):
        sql = query["sql"]
        locking = "FOR UPDATE" in sql or connection.vendor == "sqlite"
        finding_parents = sql.startswith("SELECT DISTINCT")  # which parents to lock: a plain read
        if sql.startswith("SELECT") and wanted in sql and locking and not finding_parents:
            return index
    raise AssertionError(f"order #{order_id} was never locked")


def test_a_run_locks_its_drip_feed_parent_before_itself(api, alice, catalogue, scripted, worker, clock):
    """Canceling a parent locks it, then its runs; a run's progress or end must take the same
    order (parent first), or two transactions could each hold the lock the other waits for."""
    parent = order(api, alice, catalogue, runs=3, interval=30)
    worker.run_once()
    first = parent.children.get()
    with CaptureQueriesContext(connection) as queries:
        transitions.progress_many({first.pk: said(S.IN_PROGRESS, 5, 900)}, clock())
    assert _first_lock(queries, parent.pk, many=True) < _first_lock(queries, first.pk, many=True)
    with CaptureQueriesContext(connection) as queries:
        transitions.finish(first.pk, S.COMPLETED, 0, clock())
    assert _first_lock(queries, parent.pk, many=True) < _first_lock(queries, first.pk)


def test_engine_timings_are_settings(api, alice, catalogue, scripted, worker, clock, settings):
    settings.SMMPANEL_FIRST_CHECK_SECONDS = 30
    settings.SMMPANEL_LONGEST_CHECK_SECONDS = 120
    assert [transitions.check_delay(n).total_seconds() for n in (0, 1, 2, 10)] == [30, 60, 120, 120]
    settings.SMMPANEL_STALE_CLAIM_SECONDS = 60
    assert dispatch.stale_claim() == timedelta(minutes=1)
    placed = order(api, alice, catalogue)
    assert transitions.claim(placed.pk, clock())
    assert dispatch.expire_stale_claims(clock() + timedelta(seconds=59)) == 0
    assert dispatch.expire_stale_claims(clock() + timedelta(seconds=61)) == 1
    placed.refresh_from_db()
    assert placed.provider_state == P.UNKNOWN


def test_a_provider_in_euros_has_its_charges_recorded_in_the_panels_currency(
    api, alice, catalogue, scripted, worker, clock, settings
):
    settings.SMMPANEL_CURRENCY = "USD"
    Provider.objects.filter(kind="scripted").update(currency="EUR", exchange_rate=Decimal("1.5"))
    placed = order(api, alice, catalogue)
    worker.run_once()  # the provider takes it at 0.01 EUR
    placed.refresh_from_db()
    assert placed.cost == Decimal("0.015")
    scripted.reports[placed.pk] = said(S.IN_PROGRESS, 5, 500, charge=Decimal("0.4"))  # then says 0.4 EUR
    clock.advance(minutes=1)
    worker.run_once()
    placed.refresh_from_db()
    assert placed.cost == Decimal("0.6") and placed.charge == Decimal("0.9")  # the customer's is untouched


def test_an_add_request_carries_the_wire_parameters_and_the_listed_cost(api, alice, catalogue, clock):
    euro = Provider.objects.create(name="Euro", currency="EUR", exchange_rate=Decimal("1.5"))
    listed = ProviderService.objects.create(
        provider=euro, external_id="77", name="F", type="default", rate=Decimal("0.5"), min=1, max=10**6
    )
    Service.objects.filter(pk=catalogue.default.pk).update(provider=euro, provider_service=listed)
    placed = order(api, alice, catalogue)
    transitions.claim(placed.pk, clock())
    (loaded,) = dispatch._load([placed.pk])
    request = add_request(loaded)
    assert (request.ref, request.service, request.quantity) == (placed.pk, "77", 1000)
    assert request.link == placed.link and request.charge == placed.charge
    assert request.listed_cost == Decimal("0.5")  # 1000 at 0.5 EUR per 1000, in euros
    assert in_panel_currency(euro, request.listed_cost) == Decimal("0.75")
    Service.objects.filter(pk=catalogue.default.pk).update(provider_service=None)
    (unlinked,) = dispatch._load([placed.pk])
    assert add_request(unlinked).service == ""  # api_v2 refuses it: no service of its own


def test_forwarded_cancels_are_recorded_once_each_with_the_providers_answer(api, alice, catalogue, clock):
    accepted, refused, unanswered, other = (
        order(api, alice, catalogue, link=f"x.com/{name}") for name in ("a", "b", "c", "d")
    )
    clock.advance(minutes=5)
    refusals = {accepted.pk: None, refused.pk: "Cannot cancel this order"}
    ids = [accepted.pk, refused.pk, unanswered.pk]
    assert transitions.cancels_forwarded(refusals, ids, clock()) == 3
    for placed in (accepted, refused, unanswered, other):
        placed.refresh_from_db()
    assert {o.cancel_forwarded_at for o in (accepted, refused, unanswered)} == {clock()}
    assert {o.updated_at for o in (accepted, refused, unanswered)} == {clock()}
    assert other.cancel_forwarded_at is None and other.updated_at != clock()
    said = {e.order_id: e.data for e in OrderEvent.objects.filter(kind=OrderEvent.Kind.CANCEL_FORWARDED)}
    assert said == {
        accepted.pk: {"accepted": True, "refusal": None},
        refused.pk: {"accepted": False, "refusal": "Cannot cancel this order"},
        unanswered.pk: {"accepted": False, "refusal": "no answer for this order"},
    }
    # A second report of the same cancels records nothing; a new one after it still is.
    assert transitions.cancels_forwarded({}, [accepted.pk, other.pk], clock()) == 1
    assert OrderEvent.objects.filter(kind=OrderEvent.Kind.CANCEL_FORWARDED).count() == 4


def test_each_run_released_carries_its_parent_and_the_history_says_which(api, alice, catalogue, clock):
    from smmpanel.orders import dripfeed

    parent = order(api, alice, catalogue, runs=3, interval=30)  # 2.7 in all, 0.9 a run
    released = []
    for step in range(3):
        assert dripfeed.release(parent.pk, clock()) is True
        run = parent.children.order_by("-id").first()
        released.append(run.pk)
        assert (run.api_key_id, run.link, run.charge, run.source) == (
            parent.api_key_id,
            parent.link,
            Decimal("0.9"),
            parent.source,
        )
        assert run.api_key_id is not None
        assert run.events.get(kind=OrderEvent.Kind.CREATED).data.get("run") == step + 1
        parent.refresh_from_db()
        last = step == 2
        assert parent.next_check_at == (None if last else clock() + timedelta(minutes=30))
        assert parent.provider_state == (P.SENT if last else P.QUEUED)
        clock.advance(minutes=30)
    assert dripfeed.release(parent.pk, clock()) is False  # all three are out
    said = parent.events.filter(kind=OrderEvent.Kind.RUN_RELEASED).order_by("id")
    assert [e.data for e in said] == [{"run": pk} for pk in released]


def test_canceling_a_drip_feed_refunds_what_was_not_released_and_asks_its_runs_only(
    api, alice, catalogue, clock
):
    from smmpanel.orders import dripfeed

    parent = order(api, alice, catalogue, runs=3, interval=30)  # 2.7: 0.9 a run
    bystander = order(api, alice, catalogue, link="x.com/other")
    assert dripfeed.release(parent.pk, clock()) is True
    clock.advance(minutes=1)
    assert dripfeed.cancel(parent.pk, clock()) is True
    refund = LedgerEntry.objects.get(order=parent, kind="refund")
    assert (refund.amount, refund.reference) == (Decimal("1.8"), f"order:{parent.pk}:refund-unreleased")
    assert refund.created_at == clock()
    event = parent.events.get(kind=OrderEvent.Kind.CANCELED_UNRELEASED_RUNS)
    assert event.data == {"released": 1, "refund": "1.800000"}
    run = parent.children.get()
    assert (run.cancel_requested_at, run.updated_at) == (clock(), clock())
    bystander.refresh_from_db()
    assert bystander.cancel_requested_at is None
    assert dripfeed.cancel(parent.pk, clock()) is False  # once
    assert dripfeed.release(parent.pk, clock()) is False  # and nothing more goes out
    # What was refunded for an order counts its runs' refunds, and nobody else's, nor charges.
    assert (totals.refunded(parent.pk), totals.refunded(bystander.pk)) == (Decimal("1.8"), 0)
    transitions.finish(run.pk, S.CANCELED, None, clock())
    assert (totals.refunded(parent.pk), totals.refunded(run.pk)) == (Decimal("2.7"), Decimal("0.9"))
    assert list(mismatches()) == []


# Creating, charging and refunding an order (orders.creating) ----------------------------


def a_new_order(customer, service, clock, **fields):
    """An order stored by `creating.create`, as placing, a drip-feed run or a subscription post do."""
    from smmpanel.orders import creating

    new = creating.NewOrder(
        user_id=customer.user.pk, service_id=service.pk, kind=service.type, link="https://example.com/p",
        quantity=100, charge=Decimal("0.9"), source=Order.Source.API, **fields,
    )  # fmt: skip
    with transaction.atomic():
        return Order.objects.get(pk=creating.create(new, clock(), via="test"))


def test_a_new_order_has_everything_left_to_deliver_and_its_created_event(alice, catalogue, clock):
    once = a_new_order(alice, catalogue.default, clock)
    dripped = a_new_order(alice, catalogue.default, clock, runs=3, interval_minutes=10)
    told = a_new_order(alice, catalogue.default, clock, remains=40)
    assert (once.remains, dripped.remains, told.remains) == (100, 300, 40)
    event = OrderEvent.objects.get(order=once)
    assert (event.kind, event.data, event.created_at) == ("created", {"via": "test"}, clock())
    assert (once.created_at, once.updated_at, once.status) == (clock(), clock(), S.PENDING)


def test_a_post_made_upstream_is_stored_as_sent_with_its_times(alice, catalogue, clock):
    check = clock() + timedelta(minutes=5)
    order = a_new_order(
        alice, catalogue.default, clock, provider_state=P.SENT, sent_at=clock(), next_check_at=check
    )
    assert (order.provider_state, order.sent_at, order.next_check_at) == (P.SENT, clock(), check)


def test_an_order_is_charged_once_and_refunded_once_per_reason_at_the_engines_time(alice, catalogue, clock):
    from smmpanel.ledger.services import DuplicateEntry
    from smmpanel.orders import creating

    order = a_new_order(alice, catalogue.default, clock)
    with transaction.atomic(), CaptureQueriesContext(connection) as charging:
        creating.charge(alice.user.pk, order.pk, Decimal("0.9"), clock(), new=True)
    # An order created in the same transaction cannot be charged yet: no savepoint, two round trips fewer.
    assert not [q for q in charging.captured_queries if "SAVEPOINT" in q["sql"].upper()]
    with transaction.atomic():  # a charge of an order met again is refused, and the transaction goes on
        with pytest.raises(DuplicateEntry):
            creating.charge(alice.user.pk, order.pk, Decimal("0.9"), clock())
        assert creating.refund(alice.user.pk, order.pk, Decimal("0.4"), clock()) == Decimal("0.4")
    with transaction.atomic():
        assert creating.refund(alice.user.pk, order.pk, Decimal("0.4"), clock()) == 0  # a replay
        canceled = creating.refund(alice.user.pk, order.pk, Decimal("0.1"), clock(), reason="cancel")
        assert canceled == Decimal("0.1")
    entries = LedgerEntry.objects.filter(order_id=order.pk).order_by("id")
    assert [(e.kind, e.amount, e.reference, e.created_at) for e in entries] == [
        ("charge", Decimal("-0.9"), f"order:{order.pk}:charge", clock()),
        ("refund", Decimal("0.4"), f"order:{order.pk}:refund", clock()),
        ("refund", Decimal("0.1"), f"order:{order.pk}:cancel", clock()),
    ]
    assert alice.balance() == Decimal("99.6") and list(mismatches()) == []


def test_a_refund_of_nothing_writes_nothing(alice, catalogue, clock):
    from smmpanel.orders import creating

    order = a_new_order(alice, catalogue.default, clock)
    with transaction.atomic():
        assert creating.refund(alice.user.pk, order.pk, Decimal("0"), clock()) == 0
    assert not LedgerEntry.objects.filter(order_id=order.pk).exists()
