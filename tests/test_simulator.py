"""The simulated provider reports only what a real provider would: delivery never goes backwards,
Canceled means nothing was delivered, Partial means some was and some was not."""

from datetime import UTC, datetime, timedelta

from smmpanel.orders.models import Order
from smmpanel.providers.adapters import SimulatedAdapter
from smmpanel.providers.requests import StatusRequest

S = Order.Status
FINAL = Order.FINAL
SECONDS = 100.0
SENT_AT = datetime(2026, 1, 1, tzinfo=UTC)
# Every twentieth of the delivery time, and on past its end.
MOMENTS = [SENT_AT + timedelta(seconds=SECONDS * step / 20) for step in range(-2, 30)]
QUANTITIES = [1, 2, 3, 10, 675, 1000]


def _history(order: Order, cancel_at: datetime | None = None) -> list[tuple[str, int]]:
    simulator = SimulatedAdapter(SECONDS, partial_percent=30, cancel_percent=20)
    seen = []
    for now in MOMENTS:
        order.cancel_requested_at = cancel_at if cancel_at is not None and cancel_at <= now else None
        request = StatusRequest(order.pk, "", order.quantity, order.sent_at, order.cancel_requested_at)
        report = simulator.progress([request], now)[order.pk]
        assert report.status is not None and report.remains is not None
        seen.append((str(report.status), report.remains))
    return seen


def _assert_a_provider_could_say(history: list[tuple[str, int]], units: int) -> None:
    remains = [left for _, left in history]
    assert all(0 <= left <= units for left in remains), history
    assert remains == sorted(remains, reverse=True), f"delivery went backwards: {history}"
    final = [(status, left) for status, left in history if status in FINAL]
    assert len(set(final)) <= 1, f"a final status changed: {history}"
    for status, left in final[:1]:
        if status == S.COMPLETED:
            assert left == 0, history
        elif status == S.CANCELED:
            assert remains[0] == left == units, f"Canceled after delivering: {history}"
        else:
            assert status == S.PARTIAL and 0 < left < units, f"a Partial delivered all or nothing: {history}"


def test_every_simulated_outcome_is_one_a_provider_reports() -> None:
    outcomes = set()
    for seed in range(1, 301):
        for units in QUANTITIES:
            history = _history(Order(pk=seed, quantity=units, sent_at=SENT_AT))
            _assert_a_provider_could_say(history, units)
            outcomes.add(history[-1][0])
    assert outcomes == {S.COMPLETED, S.PARTIAL, S.CANCELED}


def test_an_order_canceled_by_its_customer_ends_partial_or_canceled_by_what_was_delivered() -> None:
    outcomes = set()
    for seed in range(1, 201):
        for units in QUANTITIES:
            cancel_at = MOMENTS[seed % 20]  # before the delivery time is over
            history = _history(Order(pk=seed, quantity=units, sent_at=SENT_AT), cancel_at)
            _assert_a_provider_could_say(history, units)
            assert history[-1][0] in FINAL
            outcomes.add(history[-1][0])
    assert {S.PARTIAL, S.CANCELED} <= outcomes
