"""The operator's order actions (orders.operator): what each does, where each is refused.

Every action names its operator in the order's history, moves money only as a refund
through the ledger (balances still add up), and changes nothing when refused. A resend
never makes a second order upstream, whatever state the order was in.
"""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from upstream import upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.engine.worker import Worker
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders import creating, dripfeed, operator, transitions
from smmpanel.orders.models import Order, OrderEvent
from smmpanel.orders.operator import Outcome, Refused
from smmpanel.providers.apiv2 import idempotency_key

P, S, E = Order.ProviderState, Order.Status, OrderEvent.Kind

# Where a (non-parent) order can stand, as provider state x status.
STATES = (
    "queued",
    "sending",
    "sent",
    "in_progress",
    "unknown",
    "held",  # refused by the provider, held for the operator (failed, still Pending)
    "completed",
    "partial",
    "canceled",
    "canceled_before_sending",  # failed, Canceled
)
# Where each action is allowed; refused everywhere else.
ALLOWED = {
    "resend": {"held"},
    "change_provider": {"queued", "held"},
    "edit_link": {"queued", "held"},
    "set_start_count": set(STATES),
    "set_remains": {"sent", "in_progress"},
    "mark_completed": {"sent", "in_progress"},
    "mark_partial": {"sent", "in_progress"},
    "cancel_and_refund": {"queued", "held", "sent", "in_progress"},
    "resolve_has_it": {"unknown"},
    "resolve_never_got_it": {"unknown"},
    "resolve_cancel": {"unknown"},
}


@pytest.fixture
def staff(db):
    return User.objects.create_user("olga", "olga@example.com", "x", is_staff=True)


@pytest.fixture
def manual(catalogue):
    provider = Provider.objects.create(name="By hand", kind=Provider.Kind.MANUAL)
    Service.objects.filter(pk=catalogue.default.pk).update(provider=provider, on_refusal="hold")
    return provider


def place(customer, service, now, *, quantity=1000, link="https://x.com/a", **more):
    """An order as placement stores it: the row, its `created` event and its charge."""
    charge = (service.rate * quantity / 1000).quantize(Decimal("0.000001"))
    new = creating.NewOrder(
        user_id=customer.user.pk,
        service_id=service.pk,
        kind=more.pop("kind", Order.Kind.SINGLE),
        link=link,
        quantity=quantity,
        charge=charge * (more.get("runs") or 1),
        source="api",
        **more,
    )
    with transaction.atomic():
        order_id = creating.create(new, now)
        creating.charge(customer.user.pk, order_id, new.charge, now, new=True)
    return Order.objects.get(pk=order_id)


def drive(order, state, now):
    """Move a queued order to `state` through the transitions the engine uses."""
    pk = order.pk
    if state == "canceled_before_sending":
        assert transitions.cancel_before_sending(pk, now)
    elif state != "queued":
        assert transitions.claim(pk, now)
    if state in ("sent", "in_progress", "completed", "partial", "canceled"):
        assert transitions.sent(pk, f"up-{pk}", None, now)
    if state == "in_progress":
        assert transitions.progress(pk, transitions.OperatorProgress(S.IN_PROGRESS, 10, 700), now)
    if state in ("completed", "partial", "canceled"):
        assert transitions.finish(pk, {"partial": S.PARTIAL}.get(state, state), 400, now)
    if state == "unknown":
        assert transitions.in_doubt(pk, "timed out", now)
    if state == "held":
        assert transitions.refused(pk, "Not enough funds on balance", "hold", now)
    order.refresh_from_db()
    return order


def inputs(action, other_provider):
    return {
        "change_provider": {"provider_id": other_provider.pk},
        "edit_link": {"link": "x.com/b"},
        "set_start_count": {"n": 123},
        "set_remains": {"n": 5},
        "mark_partial": {"remains": 300},
        "resolve_has_it": {"provider_order_id": "77"},
    }.get(action, {})


def snapshot(order):
    """Everything an action could change: the row, its history, the money."""
    return (
        Order.objects.filter(pk=order.pk).values().get(),
        list(order.events.values_list("kind", "data")),
        list(LedgerEntry.objects.values_list("reference", "amount")),
    )


def refunds(order):
    return sum(LedgerEntry.objects.filter(order=order, kind="refund").values_list("amount", flat=True))


def last_event(order):
    event = order.events.order_by("-id").first()
    return event.kind, event.data, event.actor_id


# --- Where each action is allowed ------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(ALLOWED))
def test_each_action_is_allowed_where_the_table_says_and_refused_without_a_change_elsewhere(
    action, state, alice, catalogue, manual, staff, clock
):
    other = Provider.objects.create(name="Other hands", kind=Provider.Kind.MANUAL)
    order = drive(place(alice, catalogue.default, clock()), state, clock())
    clock.advance(minutes=1)
    before = snapshot(order)
    act = operator.ACTIONS[action]
    if state in ALLOWED[action]:
        outcome = act(order.pk, actor=staff, now=clock(), **inputs(action, other))
        assert isinstance(outcome, Outcome) and outcome.action == action and outcome.order_id == order.pk
        assert outcome.before != outcome.after
        assert order.events.filter(actor=staff).count() == 1
    else:
        with pytest.raises(Refused) as refused:
            act(order.pk, actor=staff, now=clock(), **inputs(action, other))
        assert f"#{order.pk}" in refused.value.message and refused.value.order_id == order.pk
        assert snapshot(order) == before
    assert list(mismatches()) == []


@pytest.mark.parametrize("action", sorted(set(ALLOWED) - {"cancel_and_refund"}))
def test_a_drip_feed_order_is_acted_on_through_its_runs(action, alice, catalogue, manual, staff, clock):
    parent = place(alice, catalogue.default, clock(), kind=Order.Kind.DRIPFEED, runs=3, interval_minutes=10)
    before = snapshot(parent)
    with pytest.raises(Refused, match="drip-feed or subscription|not in doubt"):
        operator.ACTIONS[action](parent.pk, actor=staff, now=clock(), **inputs(action, manual))
    assert snapshot(parent) == before


def test_an_order_that_does_not_exist_is_refused_by_its_number(db, staff, clock):
    with pytest.raises(Refused, match="no order #999"):
        operator.cancel_and_refund(999, actor=staff, now=clock())


# --- What each action does ------------------------------------------------------------------


def test_resend_queues_a_held_order_again_and_says_who(alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "held", clock())
    outcome = operator.resend(order.pk, actor=staff, now=clock(), note="provider topped up")
    order.refresh_from_db()
    assert (order.provider_state, order.status, order.provider_error) == (P.QUEUED, S.PENDING, "")
    assert outcome.before == {"provider_state": "failed", "provider_error": "Not enough funds on balance"}
    assert outcome.after == {"provider_state": "queued", "provider_error": ""}
    assert last_event(order) == (
        E.OPERATOR_RESENT,
        {"refusal": "Not enough funds on balance", "note": "provider topped up"},
        staff.pk,
    )


def test_resend_refuses_an_order_the_customer_asked_to_cancel(alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "held", clock())
    Order.objects.filter(pk=order.pk).update(cancel_requested_at=clock())
    with pytest.raises(Refused, match="asked to cancel"):
        operator.resend(order.pk, actor=staff, now=clock())


def test_resend_refuses_an_order_whose_provider_is_disabled(alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "held", clock())
    Provider.objects.filter(pk=manual.pk).update(enabled=False)
    with pytest.raises(Refused, match="no enabled provider"):
        operator.resend(order.pk, actor=staff, now=clock())


def test_change_provider_sticks_through_the_claim(alice, catalogue, manual, staff, clock):
    other = Provider.objects.create(name="Other hands", kind=Provider.Kind.MANUAL)
    order = place(alice, catalogue.default, clock())
    outcome = operator.change_provider(order.pk, other.pk, actor=staff, now=clock())
    assert outcome.before == {"provider": f"By hand (#{manual.pk})"}
    assert outcome.after == {"provider": f"Other hands (#{other.pk})"}
    assert last_event(order)[:2] == (
        E.PROVIDER_CHANGED,
        {"old": f"By hand (#{manual.pk})", "new": f"Other hands (#{other.pk})"},
    )
    assert transitions.claim(order.pk, clock())
    order.refresh_from_db()
    assert order.provider_id == other.pk and order.upstream == other


def test_change_provider_refuses_a_provider_that_cannot_take_the_order(
    alice, catalogue, manual, staff, clock
):
    order = place(alice, catalogue.default, clock())
    before = snapshot(order)
    off = Provider.objects.create(name="Off", kind=Provider.Kind.MANUAL, enabled=False)
    stranger = Provider.objects.create(name="Stranger", url="https://p.example/api/v2")
    for provider_id, words in (
        (off.pk, "disabled"),
        (stranger.pk, "does not sell this order's service"),
        (99999, "no provider #99999"),
        (manual.pk, "already goes to By hand"),
    ):
        with pytest.raises(Refused, match=words):
            operator.change_provider(order.pk, provider_id, actor=staff, now=clock())
    assert snapshot(order) == before


def test_a_provider_listing_the_service_can_take_the_order(alice, catalogue, manual, staff, clock):
    panel = Provider.objects.create(name="Panel", url="https://p.example/api/v2")
    listed = ProviderService.objects.create(
        provider=panel, external_id="9", name="F", type="default", rate=Decimal("0.5"), min=1, max=10**6
    )
    Service.objects.filter(pk=catalogue.default.pk).update(provider_service=listed)
    order = place(alice, catalogue.default, clock())
    operator.change_provider(order.pk, panel.pk, actor=staff, now=clock())
    order.refresh_from_db()
    assert order.provider_id == panel.pk


def test_edit_link_checks_the_link_as_a_new_order_does(alice, catalogue, manual, staff, clock):
    order = place(alice, catalogue.default, clock())
    before = snapshot(order)
    for bad in ("", "javascript:alert(1)", "ftp://x.com/a", "https://x.com/\u202ea"):
        with pytest.raises(Refused, match="not a link"):
            operator.edit_link(order.pk, bad, actor=staff, now=clock())
    with pytest.raises(Refused, match="already has that link"):
        operator.edit_link(order.pk, "x.com/a", actor=staff, now=clock())
    assert snapshot(order) == before
    outcome = operator.edit_link(order.pk, " x.com/b ", actor=staff, now=clock())
    order.refresh_from_db()
    assert order.link == "https://x.com/b"
    assert (outcome.before, outcome.after) == ({"link": "https://x.com/a"}, {"link": "https://x.com/b"})
    assert last_event(order) == (
        E.LINK_EDITED,
        {"old": "https://x.com/a", "new": "https://x.com/b"},
        staff.pk,
    )


def test_set_start_count_and_remains(alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "sent", clock())
    for bad in (-1, True, "5", 1.5):
        with pytest.raises(Refused, match="start count is a whole number"):
            operator.set_start_count(order.pk, bad, actor=staff, now=clock())
    for bad in (-1, 1001, "5"):
        with pytest.raises(Refused, match="from 0 to the order's quantity, 1000"):
            operator.set_remains(order.pk, bad, actor=staff, now=clock())
    with pytest.raises(Refused, match="already has that start count"):
        operator.set_start_count(order.pk, 0, actor=staff, now=clock())
    operator.set_start_count(order.pk, 250, actor=staff, now=clock())
    assert last_event(order) == (E.START_COUNT_SET, {"start_count": 250, "was": 0}, staff.pk)
    outcome = operator.set_remains(order.pk, 1000 - 1, actor=staff, now=clock())
    assert (outcome.before, outcome.after) == ({"remains": 1000}, {"remains": 999})
    operator.set_remains(order.pk, 0, actor=staff, now=clock())
    order.refresh_from_db()
    assert (order.start_count, order.remains, order.status) == (250, 0, S.PENDING)
    assert last_event(order) == (E.REMAINS_SET, {"remains": 0, "was": 999}, staff.pk)
    assert refunds(order) == 0


def test_mark_completed_ends_the_order_without_a_refund(alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "in_progress", clock())
    outcome = operator.mark_completed(order.pk, actor=staff, now=clock())
    order.refresh_from_db()
    assert (order.status, order.remains, order.finished_at) == (S.COMPLETED, 0, clock())
    assert (outcome.before, outcome.after, outcome.refund) == (
        {"status": "in_progress", "remains": 700},
        {"status": "completed", "remains": 0},
        0,
    )
    kinds = list(order.events.values_list("kind", "actor_id"))[-2:]
    assert kinds == [(E.MARKED_COMPLETED, staff.pk), (E.FINISHED, None)]
    assert refunds(order) == 0 and list(mismatches()) == []


@pytest.mark.parametrize(
    "charge, quantity, remains",
    [("0.900000", 1000, 300), ("0.000007", 3, 1), ("0.000007", 3, 2), ("4.500000", 7, 6), ("1", 1000, 999)],
)
def test_partial_refunds_what_the_preview_said_once_and_never_past_the_charge(
    charge, quantity, remains, alice, catalogue, manual, staff, clock
):
    order = drive(place(alice, catalogue.default, clock(), quantity=quantity), "sent", clock())
    Order.objects.filter(pk=order.pk).update(charge=Decimal(charge))  # an awkward charge to round
    before = snapshot(order)
    preview = operator.partial_refund(order.pk, remains)
    assert snapshot(order) == before  # a preview writes nothing
    outcome = operator.mark_partial(order.pk, remains, actor=staff, now=clock())
    assert outcome.refund == preview == refunds(order) <= Decimal(charge)
    assert preview == (Decimal(charge) * remains / quantity).quantize(Decimal("0.000001"), "ROUND_DOWN")
    with pytest.raises(Refused, match="is finished"):
        operator.mark_partial(order.pk, remains, actor=staff, now=clock())
    with pytest.raises(Refused, match="is finished"):
        operator.cancel_and_refund(order.pk, actor=staff, now=clock())
    assert LedgerEntry.objects.filter(order=order, kind="refund").count() == 1
    order.refresh_from_db()
    assert (order.status, order.remains) == (S.PARTIAL, remains)
    assert last_event(order)[0] == E.FINISHED


@pytest.mark.parametrize("remains", [0, 1000, -5, 1001])
def test_partial_needs_something_delivered_and_something_not(remains, alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "sent", clock())
    before = snapshot(order)
    with pytest.raises(Refused, match="from 1 to 999"):
        operator.partial_refund(order.pk, remains)
    with pytest.raises(Refused, match="cancel and refund it"):
        operator.mark_partial(order.pk, remains, actor=staff, now=clock())
    assert snapshot(order) == before


@pytest.mark.parametrize("state", ["queued", "held", "sent", "in_progress"])
def test_cancel_refunds_all_of_an_unfinished_order(state, alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), state, clock())
    outcome = operator.cancel_and_refund(order.pk, actor=staff, now=clock(), note="customer phoned")
    order.refresh_from_db()
    assert order.status == S.CANCELED and order.remains == 1000
    assert outcome.refund == refunds(order) == order.charge == Decimal("0.9")
    assert alice.balance() == Decimal(100) and list(mismatches()) == []
    assert outcome.after["status"] == "canceled"
    operator_event = order.events.get(kind=E.CANCELED_BY_OPERATOR)
    assert operator_event.actor == staff and operator_event.data["note"] == "customer phoned"
    assert operator_event.data["provider_may_deliver"] is (state in ("sent", "in_progress"))
    if state == "queued":  # out of the queue: no worker can claim it any more
        assert order.provider_state == P.FAILED and not transitions.claim(order.pk, clock())


def test_cancel_stops_a_drip_feeds_runs_to_come(alice, catalogue, manual, staff, clock):
    parent = place(alice, catalogue.default, clock(), kind=Order.Kind.DRIPFEED, runs=3, interval_minutes=10)
    assert dripfeed.release(parent.pk, clock())
    run = parent.children.get()
    outcome = operator.cancel_and_refund(parent.pk, actor=staff, now=clock())
    assert outcome.refund == parent.charge - run.charge == Decimal("1.8")
    run.refresh_from_db()
    assert run.cancel_requested_at == clock()  # the released run is canceled as a customer's would be
    clock.advance(minutes=30)
    assert not dripfeed.release(parent.pk, clock())
    assert parent.children.count() == 1
    assert transitions.cancel_before_sending(run.pk, clock())  # what the worker does next
    parent.refresh_from_db()
    assert parent.status == S.CANCELED and refunds(parent) + refunds(run) == parent.charge
    assert list(mismatches()) == []
    with pytest.raises(Refused, match="is finished"):
        operator.cancel_and_refund(parent.pk, actor=staff, now=clock())


def test_cancel_refuses_a_drip_feed_whose_runs_all_started(alice, catalogue, manual, staff, clock):
    parent = place(alice, catalogue.default, clock(), kind=Order.Kind.DRIPFEED, runs=1, interval_minutes=10)
    assert dripfeed.release(parent.pk, clock())
    with pytest.raises(Refused, match="runs one by one"):
        operator.cancel_and_refund(parent.pk, actor=staff, now=clock())


def test_cancel_refuses_a_subscription(alice, catalogue, manual, staff, clock):
    sub = place(alice, catalogue.default, clock(), kind=Order.Kind.SUBSCRIPTION, status=S.ACTIVE)
    with pytest.raises(Refused, match="subscription"):
        operator.cancel_and_refund(sub.pk, actor=staff, now=clock())


def test_resolving_an_order_in_doubt(alice, catalogue, manual, staff, clock):
    has_it, never, cancel = (
        drive(place(alice, catalogue.default, clock(), link=f"x.com/{n}"), "unknown", clock())
        for n in range(3)
    )
    for bad in ("", "  ", "x" * 101, "1\n2"):
        with pytest.raises(Refused, match="provider's order id"):
            operator.resolve_has_it(has_it.pk, bad, actor=staff, now=clock())
    operator.resolve_has_it(has_it.pk, " 777 ", actor=staff, now=clock())
    operator.resolve_never_got_it(never.pk, actor=staff, now=clock())
    outcome = operator.resolve_cancel(cancel.pk, actor=staff, now=clock())
    for order in (has_it, never, cancel):
        order.refresh_from_db()
    assert (has_it.provider_state, has_it.provider_order_id) == (P.SENT, "777")
    assert has_it.next_check_at == clock() + transitions.first_check()  # the engine follows it
    assert never.provider_state == P.QUEUED
    assert (cancel.status, cancel.provider_state) == (S.CANCELED, P.FAILED)
    assert outcome.refund == refunds(cancel) == cancel.charge
    assert [o.events.get(actor=staff).kind for o in (has_it, never, cancel)] == [
        E.RESOLVED_SENT,
        E.RESOLVED_REQUEUED,
        E.RESOLVED_CANCELED,
    ]
    assert list(mismatches()) == []


# --- Many at once -------------------------------------------------------------------------


def test_one_action_on_200_orders_in_one_call(alice, catalogue, manual, staff, clock):
    orders = [place(alice, catalogue.default, clock(), quantity=100, link=f"x.com/{n}") for n in range(200)]
    finished = [drive(o, "completed", clock()) for o in orders[:5]]
    audited: list[Outcome] = []
    with CaptureQueriesContext(connection) as queries:
        results = operator.apply_many(
            "cancel_and_refund", [o.pk for o in orders], actor=staff, now=clock(), audit=audited.append
        )
    # One small transaction per order, however many orders: the bound is the query count (a
    # time limit would fail on a loaded machine; bench/, not tests, measures time).
    assert len(queries) <= 200 * 24
    assert [r.order_id for r in results] == [o.pk for o in orders]
    refused = [r for r in results if isinstance(r, Refused)]
    assert [r.order_id for r in refused] == [o.pk for o in finished]
    assert all("is finished" in r.message for r in refused)
    assert audited == [r for r in results if isinstance(r, Outcome)] and len(audited) == 195
    assert Order.objects.filter(status=S.CANCELED).count() == 195
    assert LedgerEntry.objects.filter(kind="refund").count() == 195
    assert list(mismatches()) == []


def test_bulk_refuses_too_many_orders_and_unknown_actions(db, staff, clock):
    with pytest.raises(Refused, match="At most 200"):
        operator.apply_many("resend", range(1, 202), actor=staff, now=clock())
    with pytest.raises(Refused, match="no action"):
        operator.apply_many("delete", [1], actor=staff, now=clock())


def test_an_audit_that_fails_undoes_that_orders_action(alice, catalogue, manual, staff, clock):
    order = place(alice, catalogue.default, clock())
    before = snapshot(order)

    def audit(outcome: Outcome) -> None:
        raise Refused("audit store is down", outcome.order_id)

    assert isinstance(
        operator.apply_many("cancel_and_refund", [order.pk], actor=staff, now=clock(), audit=audit)[0],
        Refused,
    )
    assert snapshot(order) == before


# --- The customer's history --------------------------------------------------------------------


def test_the_customers_history_reads_in_words_and_keeps_the_operators_notes(
    client, alice, catalogue, manual, staff, clock
):
    other = Provider.objects.create(name="Secret Supplier", kind=Provider.Kind.MANUAL)
    order = place(alice, catalogue.default, clock())
    note = dict(actor=staff, now=clock(), note="customer is a reseller")
    operator.change_provider(order.pk, other.pk, **note)
    operator.edit_link(order.pk, "x.com/b", **note)
    drive(order, "sent", clock())
    operator.set_start_count(order.pk, 1234, **note)
    operator.set_remains(order.pk, 600, **note)
    operator.mark_partial(order.pk, 600, **note)
    client.force_login(alice.user)
    page = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    for shown in ("Link corrected", "Start count corrected", "start count 1,234", "Progress corrected"):
        assert shown in page
    assert "remains 600" in page
    for hidden in ("Secret Supplier", "reseller", "Supplier changed", "Marked partially delivered"):
        assert hidden not in page


# --- A resend never makes a second order upstream -------------------------------------------


@pytest.fixture
def panel(upstream, catalogue):
    provider = Provider.objects.create(
        name="Upstream", url=upstream.url, api_key=upstream.key, timeout_seconds=0.5, requests_per_second=1000
    )
    listed = ProviderService.objects.create(
        provider=provider, external_id="1", name="F", type="default", rate=Decimal("0.5"), min=50, max=10000
    )
    Service.objects.filter(pk=catalogue.default.pk).update(
        provider=provider, provider_service=listed, on_refusal="hold"
    )
    return provider


def adds(upstream, order):
    return sum(1 for placed in upstream.placed if placed.idempotency_key == idempotency_key(order.pk))


def engine_to(state, order, upstream, worker, clock):
    """Bring an order to `state` the way the engine would, against the fake upstream."""
    faults = {"unknown": ("add", "timeout"), "held": ("add", "not_enough_funds")}
    if state in faults:
        upstream.fault(*faults[state], delay=1.0)
    if state == "unknown_unsent":
        upstream.fault("add", "http_500")
    if state == "sending":
        assert transitions.claim(order.pk, clock())  # a worker took it and has not sent it yet
    elif state == "canceled_before_sending":
        assert transitions.cancel_before_sending(order.pk, clock())
    elif state != "queued":
        worker.run_once()
    order.refresh_from_db()
    upstream_status = {
        "in_progress": "In progress",
        "processing": "Processing",
        "completed": "Completed",
        "partial": "Partial",
    }
    if state in upstream_status or state == "canceled":
        upstream.set_status(order.provider_order_id, upstream_status.get(state, "Canceled"), remains=400)
        clock.advance(minutes=2)
        worker.run_once()
        order.refresh_from_db()


@pytest.mark.parametrize("state", [*STATES, "processing", "unknown_unsent"])
def test_a_resend_never_makes_a_second_order_upstream(state, alice, catalogue, panel, upstream, staff, clock):
    worker = Worker(clock=clock, threads=2)
    order = place(alice, catalogue.default, clock())
    engine_to(state, order, upstream, worker, clock)
    expected_state = {
        "sending": P.SENDING,
        "unknown": P.UNKNOWN,
        "unknown_unsent": P.UNKNOWN,
        "held": P.FAILED,
        "queued": P.QUEUED,
        "canceled_before_sending": P.FAILED,
    }.get(state, P.SENT)
    assert order.provider_state == expected_state
    before = adds(upstream, order)
    try:
        operator.resend(order.pk, actor=staff, now=clock())
    except Refused:
        assert state != "held"
    else:
        assert state == "held" and before == 0
    for _ in range(4):
        clock.advance(minutes=11)
        worker.run_once()
    assert adds(upstream, order) <= 1
    assert len([c for c in upstream.calls if c[0] == "add"]) <= 1 + (state in ("held", "unknown_unsent"))
    if state in ("held", "queued"):
        order.refresh_from_db()
        assert order.provider_state == P.SENT and adds(upstream, order) == 1
    assert list(mismatches()) == []


@pytest.mark.parametrize(
    "verdict, kind",
    [
        ("--sent-as=55", E.RESOLVED_SENT),
        ("--resend", E.RESOLVED_REQUEUED),
        ("--not-sent", E.RESOLVED_CANCELED),
    ],
)
def test_the_command_line_resolves_through_the_same_actions(verdict, kind, alice, catalogue, manual, clock):
    order = drive(place(alice, catalogue.default, clock()), "unknown", clock())
    call_command("orders", "reconcile", str(order.pk), verdict)
    assert order.events.get(kind=kind).actor is None  # the command line names no operator
    with pytest.raises(CommandError, match="not in doubt|is finished"):
        call_command("orders", "reconcile", str(order.pk), verdict)


def test_a_refusal_speaks_the_operators_language(alice, catalogue, manual, staff, clock):
    order = drive(place(alice, catalogue.default, clock()), "sent", clock())
    with translation.override("es"), pytest.raises(Refused) as refused:
        operator.resend(order.pk, actor=staff, now=clock())
    assert refused.value.message == (
        f"El proveedor aceptó el pedido n.º {order.pk}: reenviarlo podría crear un segundo pedido."
    )
