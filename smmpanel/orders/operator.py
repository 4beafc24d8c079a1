"""The operator's actions on orders: what the console (and `smmpanel orders`) may do to one.

Each action locks the order (a drip-feed run's parent first, as everywhere in orders/),
checks that where the order stands allows it, changes it (through orders.transitions
wherever a transition exists), writes one event naming the operator, moves money only
through orders.creating, and returns an `Outcome` for the console's audit record. An
action the order's state does not allow raises `Refused`, whose message says why in the
operator's words, and changes nothing. Each runs in its own transaction, or inside the
caller's (the console's, with its audit record) as a savepoint.

Where each action is allowed ("state" is the provider side, Order.ProviderState; an
order is unfinished while its status is Pending, In progress or Processing; parents are
drip-feed and subscription orders, acted on through their runs and posts):

  action              kinds            state                   status
  resend              not parents      failed (refused, held)  unfinished, no cancel asked
  change_provider     not parents      queued, failed          unfinished
  edit_link           not parents      queued, failed          unfinished
  set_start_count     not parents      any                     any
  set_remains         not parents      sent                    unfinished
  mark_completed      not parents      sent                    unfinished
  mark_partial        not parents      sent                    unfinished; 0 < remains < quantity
  cancel_and_refund   single/run/post  queued, failed, sent    unfinished (sent: the provider
                                                               may still deliver; recorded)
                      drip-feed        queued (runs to come)   unfinished: stops the runs to
                                                               come and refunds them; released
                                                               runs are canceled as a customer's
                                                               cancel would be
  resolve_has_it      any              unknown                 unfinished
  resolve_never_got_it any             unknown                 unfinished
  resolve_cancel      any              unknown                 unfinished

Never resent: an order sending, sent or unknown (an unknown one is resolved first:
"never got it" requeues it itself). Partial with remains equal to the quantity is refused:
nothing was delivered, so it is a cancel (same refund, truthful status). A subscription is
not canceled here yet (its provider would go on making posts).
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Provider
from smmpanel.ledger.money import ZERO
from smmpanel.orders import dripfeed, transitions
from smmpanel.orders.drafting import PlacementError, normalise_link
from smmpanel.orders.models import Order
from smmpanel.orders.operator_checks import (
    MAX_BULK as MAX_BULK,
)
from smmpanel.orders.operator_checks import (
    MAX_PROVIDER_ORDER_ID,
    E,
    Fields,
    P,
    S,
    _before_sending,
    _changed_meanwhile,
    _count,
    _in_doubt,
    _locked,
    _not_parent,
    _record,
    _refunded,
    _refuse,
    _swapped,
    _unfinished,
    _with_provider,
)
from smmpanel.orders.operator_checks import (
    PARENTS as PARENTS,
)
from smmpanel.orders.operator_checks import (
    Outcome as Outcome,
)
from smmpanel.orders.operator_checks import (
    Refused as Refused,
)

# --- Sending --------------------------------------------------------------------------------


def resend(order_id: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """A refused order held for the operator goes back to the queue, for the engine to send.

    Only an order its provider refused (failed): it never reached the provider, so sending
    it cannot make a second order there.
    """
    with transaction.atomic():
        order = _locked(order_id)
        _not_parent(order)
        _unfinished(order)
        if order.provider_state in (P.SENT, P.SENDING, P.UNKNOWN):
            message = {
                P.SENT: _(
                    "Order #%(order)s was accepted by the provider: resending could create a second order."
                ),
                P.SENDING: _(
                    "Order #%(order)s is being sent right now: resending could create a second order."
                ),
                P.UNKNOWN: _(
                    "Order #%(order)s may have reached the provider: resending could create a second "
                    "order. Ask the provider, then resolve it."
                ),
            }[P(order.provider_state)]
            raise _refuse(order, message)
        if order.provider_state == P.QUEUED:
            raise _refuse(order, _("Order #%(order)s is already waiting to be sent."))
        if order.cancel_requested_at is not None:
            raise _refuse(
                order, _("The customer asked to cancel order #%(order)s: cancel and refund it instead.")
            )
        provider = order.upstream
        if provider is None or not provider.enabled:
            raise _refuse(
                order, _("Order #%(order)s has no enabled provider to go to: change its provider first.")
            )
        _swapped(order, now, provider_state=P.QUEUED, provider_error="", next_check_at=None)
        _record(order, E.OPERATOR_RESENT, actor, now, note, refusal=order.provider_error[:500])
    before = {"provider_state": str(order.provider_state), "provider_error": order.provider_error}
    return Outcome(order.pk, "resend", before, {"provider_state": P.QUEUED.value, "provider_error": ""})


def _provider_takes(provider: Provider, order: Order) -> bool:
    """The provider can take the order's service: it lists it (as the service's own or its
    fallback), or fulfils by hand (or simulates)."""
    if provider.kind in (Provider.Kind.MANUAL, Provider.Kind.SIMULATED):
        return True
    service = order.service
    listings = (service.provider_service, service.fallback_service)
    return provider.pk == service.provider_id or any(x and x.provider_id == provider.pk for x in listings)


def _provider_words(provider: Provider | None) -> str:
    return "" if provider is None else f"{provider.name} (#{provider.pk})"


def change_provider(
    order_id: int, provider_id: int, *, actor: User | None, now: datetime, note: str = ""
) -> Outcome:
    """Send an order not sent yet to another provider (Order.provider: every later claim keeps it)."""
    with transaction.atomic():
        order = _locked(order_id)
        _not_parent(order)
        _unfinished(order)
        _before_sending(order, _("its provider can change"))
        provider = Provider.objects.filter(pk=provider_id).first()
        if provider is None:
            raise _refuse(order, _("There is no provider #%(provider)s."), provider=provider_id)
        words = {"provider": provider.name}
        if not provider.enabled:
            raise _refuse(
                order, _("Provider %(provider)s is disabled: enable it, or choose another."), **words
            )
        if not _provider_takes(provider, order):
            raise _refuse(
                order,
                _("Provider %(provider)s does not sell this order's service: it would refuse the order."),
                **words,
            )
        was = order.upstream
        if was is not None and was.pk == provider.pk:
            raise _refuse(order, _("Order #%(order)s already goes to %(provider)s."), **words)
        _swapped(order, now, provider=provider)
        _record(
            order,
            E.PROVIDER_CHANGED,
            actor,
            now,
            note,
            old=_provider_words(was),
            new=_provider_words(provider),
        )
    return Outcome(
        order.pk,
        "change_provider",
        {"provider": _provider_words(was)},
        {"provider": _provider_words(provider)},
    )


def edit_link(order_id: int, link: str, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """Correct the link of an order not sent yet, checked as a new order's link is."""
    try:
        new = normalise_link(link)
    except PlacementError:
        raise Refused(
            _("That is not a link an order can have: give an http or https address."), order_id
        ) from None
    with transaction.atomic():
        order = _locked(order_id)
        _not_parent(order)
        _unfinished(order)
        _before_sending(order, _("its link can change"))
        if new == order.link:
            raise _refuse(order, _("Order #%(order)s already has that link."))
        _swapped(order, now, link=new)
        _record(order, E.LINK_EDITED, actor, now, note, old=order.link, new=new)
    return Outcome(order.pk, "edit_link", {"link": order.link}, {"link": new})


# --- Progress ------------------------------------------------------------------------------


def set_start_count(order_id: int, n: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """Correct an order's start count (a status check of a sent order may set it again later)."""
    try:
        count = _count(n, 0, None)
    except ValueError:
        raise Refused(_("A start count is a whole number, 0 or more."), order_id) from None
    with transaction.atomic():
        order = _locked(order_id)
        _not_parent(order)
        if count == order.start_count:
            raise _refuse(order, _("Order #%(order)s already has that start count."))
        Order.objects.filter(pk=order.pk).update(start_count=count, updated_at=now)
        _record(order, E.START_COUNT_SET, actor, now, note, start_count=count, was=order.start_count)
    return Outcome(order.pk, "set_start_count", {"start_count": order.start_count}, {"start_count": count})


def set_remains(order_id: int, n: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """Correct what an unfinished order still has to deliver (0 to its quantity)."""
    with transaction.atomic():
        order = _locked(order_id)
        _not_parent(order)
        _unfinished(order)
        _with_provider(order)
        try:
            remains = _count(n, 0, order.quantity)
        except ValueError:
            raise _refuse(
                order,
                _("Remains are a whole number from 0 to the order's quantity, %(quantity)s."),
                quantity=order.quantity,
            ) from None
        if remains == order.remains:
            raise _refuse(order, _("Order #%(order)s already has those remains."))
        _swapped(order, now, remains=remains)
        _record(order, E.REMAINS_SET, actor, now, note, remains=remains, was=order.remains)
        if order.kind == Order.Kind.RUN and order.parent_id is not None:
            dripfeed.settle_dripfeed(order.parent_id, now)  # the drip-feed order's remains follow
    return Outcome(order.pk, "set_remains", {"remains": order.remains}, {"remains": remains})


def mark_completed(order_id: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """The provider delivered everything: Completed, nothing left, nothing refunded."""
    with transaction.atomic():
        order = _locked(order_id)
        _not_parent(order)
        _unfinished(order)
        _with_provider(order)
        _record(
            order, E.MARKED_COMPLETED, actor, now, note, status_was=order.status, remains_was=order.remains
        )
        if not transitions.finish(order.pk, S.COMPLETED, 0, now, parent_locked=True):
            raise _changed_meanwhile(order)
    before: Fields = {"status": str(order.status), "remains": order.remains}
    return Outcome(order.pk, "mark_completed", before, {"status": S.COMPLETED.value, "remains": 0})


def _partial_order(order: Order, remains: int) -> int:
    _not_parent(order)
    _unfinished(order)
    _with_provider(order)
    try:
        return _count(remains, 1, order.quantity - 1)
    except ValueError:
        raise _refuse(
            order,
            _(
                "A partial order has remains from 1 to %(most)s (its quantity less one): with nothing "
                "delivered, cancel and refund it; with everything delivered, mark it completed."
            ),
            most=order.quantity - 1,
        ) from None


def _partial_amount(order: Order, remains: int) -> Decimal:
    """What marking the order Partial refunds: the one rule of ledger.money (charge x remains /
    quantity, rounded down), less what its refund came to before (nothing, for an unfinished
    order: only finishing refunds it, once)."""
    due = transitions.refund_due(order.charge, S.PARTIAL, remains, order.quantity)
    return max(ZERO, due - _refunded(order.pk))


def partial_refund(order_id: int, remains: int) -> Decimal:
    """What `mark_partial` with these remains would refund; writes nothing (Refused as it would be)."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise Refused(_("There is no order #%(order)s.") % {"order": order_id}, order_id)
    return _partial_amount(order, _partial_order(order, remains))


def mark_partial(
    order_id: int, remains: int, *, actor: User | None, now: datetime, note: str = ""
) -> Outcome:
    """The provider delivered part: Partial with `remains`, their part of the charge refunded once."""
    with transaction.atomic():
        order = _locked(order_id)
        units = _partial_order(order, remains)
        refund = _partial_amount(order, units)
        _record(order, E.MARKED_PARTIAL, actor, now, note, remains=units, refund=str(refund))
        if not transitions.finish(order.pk, S.PARTIAL, units, now, parent_locked=True):
            raise _changed_meanwhile(order)
        refunded = _refunded(order.pk)
    before: Fields = {"status": str(order.status), "remains": order.remains}
    return Outcome(order.pk, "mark_partial", before, {"status": S.PARTIAL.value, "remains": units}, refunded)


# --- Canceling -----------------------------------------------------------------------------


def cancel_and_refund(order_id: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """Cancel an unfinished order and refund all that was not refunded yet.

    A sent order is the operator's call: its provider is not asked (it may still deliver),
    and the event says so. A drip-feed order stops releasing runs and refunds those at once;
    its released runs are canceled as a customer's cancel would be (refunded as they end).
    """
    with transaction.atomic():
        order = _locked(order_id)
        _unfinished(order)
        before = {"status": str(order.status), "provider_state": str(order.provider_state)}
        if order.kind == Order.Kind.DRIPFEED:
            return _cancel_dripfeed(order, actor, now, note, before)
        if order.kind == Order.Kind.SUBSCRIPTION:
            raise _refuse(
                order,
                _(
                    "Order #%(order)s is a subscription: the console cannot cancel it yet, as its "
                    "provider would go on making posts. Cancel it with its provider first."
                ),
            )
        if order.provider_state == P.SENDING:
            raise _refuse(
                order,
                _(
                    "Order #%(order)s is being sent right now: wait for the provider's answer, "
                    "then cancel it."
                ),
            )
        if order.provider_state == P.UNKNOWN:
            raise _refuse(
                order,
                _(
                    "Order #%(order)s is in doubt: ask the provider, then resolve it (resolving it "
                    "as canceled refunds it)."
                ),
            )
        sent = order.provider_state == P.SENT
        _record(
            order,
            E.CANCELED_BY_OPERATOR,
            actor,
            now,
            note,
            provider_state=order.provider_state,
            provider_order_id=order.provider_order_id,
            provider_may_deliver=sent,
        )
        if order.provider_state == P.QUEUED:
            # Out of the queue first (queued -> failed), so no worker can claim it any more.
            done = transitions.cancel_before_sending(order.pk, now)
        else:
            done = transitions.finish(order.pk, S.CANCELED, None, now, parent_locked=True)
        if not done:
            raise _changed_meanwhile(order)
        refund = _refunded(order.pk)
    state = P.FAILED if order.provider_state == P.QUEUED else P(order.provider_state)
    after = {"status": S.CANCELED.value, "provider_state": state.value}
    return Outcome(order.pk, "cancel_and_refund", before, after, refund)


def _cancel_dripfeed(order: Order, actor: User | None, now: datetime, note: str, before: Fields) -> Outcome:
    if order.provider_state != P.QUEUED:
        raise _refuse(
            order,
            _("All the runs of order #%(order)s have started: cancel its runs one by one."),
        )
    released = order.children.count()
    _record(order, E.CANCELED_BY_OPERATOR, actor, now, note, runs_released=released)
    if not dripfeed.cancel(order.pk, now):
        raise _changed_meanwhile(order)
    order.refresh_from_db(fields=["status", "provider_state"])
    after = {"status": str(order.status), "provider_state": str(order.provider_state)}
    return Outcome(order.pk, "cancel_and_refund", before, after, _refunded(order.pk, "refund-unreleased"))


# --- Orders in doubt -----------------------------------------------------------------------


def resolve_has_it(
    order_id: int, provider_order_id: str, *, actor: User | None, now: datetime, note: str = ""
) -> Outcome:
    """The provider has the order in doubt, under this id: it is sent, and the engine follows it."""
    upstream_id = str(provider_order_id).strip()
    if not upstream_id or len(upstream_id) > MAX_PROVIDER_ORDER_ID or not upstream_id.isprintable():
        raise Refused(_("Give the provider's order id (up to 100 characters)."), order_id)
    with transaction.atomic():
        order = _locked(order_id)
        _in_doubt(order)
        _record(order, E.RESOLVED_SENT, actor, now, note, provider_order_id=upstream_id)
        if not transitions.sent(order.pk, upstream_id, None, now):
            raise _changed_meanwhile(order)
    before = {"provider_state": P.UNKNOWN.value, "provider_order_id": order.provider_order_id}
    after = {"provider_state": P.SENT.value, "provider_order_id": upstream_id}
    return Outcome(order.pk, "resolve_has_it", before, after)


def resolve_never_got_it(order_id: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """The provider never got the order in doubt: it goes back to the queue, to be sent again."""
    with transaction.atomic():
        order = _locked(order_id)
        _in_doubt(order)
        _record(order, E.RESOLVED_REQUEUED, actor, now, note)
        if not transitions.not_sent(order.pk, now, requeue=True):
            raise _changed_meanwhile(order)
    before, after = {"provider_state": P.UNKNOWN.value}, {"provider_state": P.QUEUED.value}
    return Outcome(order.pk, "resolve_never_got_it", before, after)


def resolve_cancel(order_id: int, *, actor: User | None, now: datetime, note: str = "") -> Outcome:
    """The provider never got the order in doubt, and it is not to be sent: canceled, refunded."""
    with transaction.atomic():
        order = _locked(order_id)
        _in_doubt(order)
        _record(order, E.RESOLVED_CANCELED, actor, now, note)
        if not transitions.not_sent(order.pk, now, requeue=False):
            raise _changed_meanwhile(order)
        refund = _refunded(order.pk)
    before = {"status": str(order.status), "provider_state": P.UNKNOWN.value}
    after = {"status": S.CANCELED.value, "provider_state": P.FAILED.value}
    return Outcome(order.pk, "resolve_cancel", before, after, refund)


# --- Many orders at once -------------------------------------------------------------------

ACTIONS: dict[str, Callable[..., Outcome]] = {
    "resend": resend,
    "change_provider": change_provider,
    "edit_link": edit_link,
    "set_start_count": set_start_count,
    "set_remains": set_remains,
    "mark_completed": mark_completed,
    "mark_partial": mark_partial,
    "cancel_and_refund": cancel_and_refund,
    "resolve_has_it": resolve_has_it,
    "resolve_never_got_it": resolve_never_got_it,
    "resolve_cancel": resolve_cancel,
}


def apply_many(
    action: str,
    order_ids: Iterable[int],
    *,
    actor: User | None,
    now: datetime,
    audit: Callable[[Outcome], None] | None = None,
    **inputs: Any,
) -> list[Outcome | Refused]:
    """One action on up to MAX_BULK orders, each in its own small transaction; one result per order.

    `audit` is called with each order's Outcome inside that order's transaction, so the
    console's audit record commits (or not) with the change. A refused order is reported by
    its Refused (with `order_id`) and leaves the others going.
    """
    if action not in ACTIONS:
        raise Refused(_("There is no action “%(action)s”.") % {"action": action})
    ids = list(dict.fromkeys(order_ids))
    if len(ids) > MAX_BULK:
        raise Refused(_("At most %(most)s orders at a time.") % {"most": MAX_BULK})
    results: list[Outcome | Refused] = []
    act = ACTIONS[action]
    for order_id in ids:
        try:
            if audit is None:  # the action is its own transaction
                outcome = act(order_id, actor=actor, now=now, **inputs)
            else:
                with transaction.atomic():
                    outcome = act(order_id, actor=actor, now=now, **inputs)
                    audit(outcome)
        except Refused as refused:
            results.append(Refused(refused.message, order_id))
        else:
            results.append(outcome)
    return results
