"""A gateway deposit's buttons on its console page: "Check with the gateway now" (an open one),
"Refund" (a confirmed one, where the gateway refunds) and "Settle dispute" (a charge-back not
settled yet). The gateway is called outside any transaction (payments/ does the work); each
action that changed something is then audited. A gateway that did not answer, or an answer that
does not fit the deposit, is shown as a message and nothing changes."""

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from smmpanel.accounts.models import User
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view
from smmpanel.ledger.money import MAX_AMOUNT, amount_text
from smmpanel.payments import deposits, gateways, refunds
from smmpanel.payments.gateways.base import GatewayError
from smmpanel.payments.models import GatewayRecord, Payment
from smmpanel.payments.services import PaymentError

Status = Payment.Status


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to refund"),
        required=False,
        max_digits=20,
        decimal_places=6,
        min_value=Decimal("0.000001"),
        max_value=MAX_AMOUNT,
        help_text=gettext_lazy("Blank: the whole deposit."),
    )


class SettleForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


def may_check(payment: Payment) -> bool:
    gateway = gateways.GATEWAYS.get(payment.method)
    return payment.status in deposits.OPEN and gateway is not None and not gateway.manual


def may_refund(payment: Payment) -> bool:
    gateway = gateways.GATEWAYS.get(payment.method)
    return payment.status == Status.CONFIRMED and gateway is not None and gateway.refunds


def may_settle(payment: Payment) -> bool:
    return payment.status == Status.CHARGED_BACK and payment.dispute_settled_at is None


def _operator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _error(exc: Exception) -> str:
    return str(getattr(exc, "message", exc))


@staff_view("deposits")
@require_POST
def check_now(request: HttpRequest, payment_id: int) -> HttpResponseBase:
    payment = get_object_or_404(Payment, pk=payment_id)
    if not may_check(payment):
        messages.error(request, _("Only an open deposit through a gateway can be checked."))
        return redirect("console:deposit", payment.pk)
    try:
        outcome = deposits.check(payment.pk, kind=GatewayRecord.Kind.POLL)
    except (GatewayError, PaymentError) as exc:
        messages.error(
            request, _("The gateway gave no usable answer; nothing changed: %(why)s") % {"why": _error(exc)}
        )
        return redirect("console:deposit", payment.pk)
    if outcome.status != payment.status:
        with transaction.atomic():
            audit_action(
                request,
                "deposit.check",
                object_type="deposit",
                object_id=payment.pk,
                before={"status": payment.status},
                after={"status": outcome.status},
                note=outcome.verdict,
            )
    label = Status(outcome.status).label
    messages.success(request, _("The gateway answered: %(status)s.") % {"status": label})
    return redirect("console:deposit", payment.pk)


@staff_view("deposits")
@require_POST
def refund(request: HttpRequest, payment_id: int) -> HttpResponseBase:
    payment = get_object_or_404(Payment, pk=payment_id)
    form = RefundForm(request.POST)
    if not may_refund(payment):
        messages.error(request, _("This deposit cannot be refunded from the console."))
        return redirect("console:deposit", payment.pk)
    if not form.is_valid():
        for error in form.errors.get("amount", []):
            messages.error(request, str(error))
        return redirect("console:deposit", payment.pk)
    asked = form.cleaned_data["amount"]
    try:
        taken = refunds.refund(payment.pk, _operator(request), asked)
    except PaymentError as exc:
        # Refused: the balance is as it was. No answer: the debit stays (the message says so), and
        # that change is audited like a refund.
        if exc.code != "unknown":
            messages.error(request, exc.message)
            return redirect("console:deposit", payment.pk)
        messages.warning(request, exc.message)
        _audit_refund(request, payment, asked, None, note="the gateway did not answer")
        return redirect("console:deposit", payment.pk)
    _audit_refund(request, payment, asked, taken)
    messages.success(
        request,
        _("Refunded: %(amount)s %(currency)s taken from the balance.")
        % {"amount": amount_text(taken, "exact"), "currency": settings.SMMPANEL_CURRENCY},
    )
    return redirect("console:deposit", payment.pk)


def _audit_refund(
    request: HttpRequest, payment: Payment, asked: Decimal | None, taken: Decimal | None, note: str = ""
) -> None:
    after: dict[str, object] = {"status": Payment.objects.get(pk=payment.pk).status}
    after["asked"] = asked if asked is not None else "all"
    if taken is not None:
        after["taken from the balance"] = taken
    with transaction.atomic():
        audit_action(
            request,
            "deposit.refund",
            object_type="deposit",
            object_id=payment.pk,
            before={"status": Status.CONFIRMED},
            after=after,
            note=note,
        )


@staff_view("deposits")
@require_POST
def settle(request: HttpRequest, payment_id: int) -> HttpResponseBase:
    payment = get_object_or_404(Payment, pk=payment_id)
    form = SettleForm(request.POST)
    if not may_settle(payment) or not form.is_valid():
        messages.error(request, _("Only a charged-back deposit not settled yet can be settled."))
        return redirect("console:deposit", payment.pk)
    note = form.cleaned_data["note"].strip()
    try:
        with transaction.atomic():
            settled = refunds.settle_dispute(payment.pk, _operator(request), note)
            if settled:
                audit_action(
                    request,
                    "deposit.settle_dispute",
                    object_type="deposit",
                    object_id=payment.pk,
                    before={"dispute": "open"},
                    after={"dispute": "settled"},
                    note=note,
                )
    except PaymentError as exc:
        messages.error(request, exc.message)
        return redirect("console:deposit", payment.pk)
    if settled:
        messages.success(request, _("The dispute is settled."))
    else:
        messages.info(request, _("This dispute was settled already."))
    return redirect("console:deposit", payment.pk)
