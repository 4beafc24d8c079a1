"""Deposits: the list with filters, and a deposit's page with Confirm and Reject. Deciding is
payments/'s (a row lock and the ledger entry's unique reference: a deposit is credited once,
whatever double clicks or second tabs send); the view records it in the audit log."""

import json
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from smmpanel.accounts.models import User
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view
from smmpanel.console.views import deposit_actions
from smmpanel.payments import services as payments
from smmpanel.payments.models import GatewayRecord, Payment

PER_PAGE = 50
RECORDS_SHOWN = 100


def _any(choices: Sequence[tuple[str, object]]) -> list[tuple[str, object]]:
    return [("", gettext_lazy("Any")), *choices]


class DepositFilter(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=_any(Payment.Status.choices)
    )
    method = forms.ChoiceField(
        label=gettext_lazy("Method"), required=False, choices=_any(Payment.Method.choices)
    )
    customer = forms.CharField(label=gettext_lazy("Customer"), required=False, max_length=150)
    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Reference, customer or the gateway's id"),
    )
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def deposits(self) -> QuerySet[Payment]:
        found = Payment.objects.select_related("user", "decided_by").order_by("-id")
        if not self.is_valid():
            return found.none()
        data = self.cleaned_data
        if data["status"]:
            found = found.filter(status=data["status"])
        if data["method"]:
            found = found.filter(method=data["method"])
        if data["customer"].strip():
            found = found.filter(user__username__iexact=data["customer"].strip())
        if data["q"].strip():
            text = data["q"].strip()
            found = found.filter(
                Q(reference__iexact=text)
                | Q(gateway_ref__icontains=text)
                | Q(user__username__icontains=text)
                | Q(user__email__icontains=text)
            )
        zone = timezone.get_current_timezone()
        if data["since"]:
            found = found.filter(created_at__gte=datetime.combine(data["since"], time.min, zone))
        if data["until"]:
            found = found.filter(
                created_at__lt=datetime.combine(data["until"] + timedelta(days=1), time.min, zone)
            )
        return found


@staff_view("deposits")
def deposit_list(request: HttpRequest) -> HttpResponse:
    form = DepositFilter(request.GET)
    page = Paginator(form.deposits(), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "nav": "deposits"}
    return render(request, "console/deposits.html", context)


class RejectForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Why"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Shown to the customer with the rejected deposit."),
    )


def readable(body: str) -> str:
    """A recorded body as a person reads it best: JSON indented, anything else as it came."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return body


def _records(payment: Payment) -> list[GatewayRecord]:
    records = list(payment.records.order_by("-id")[:RECORDS_SHOWN])
    for record in records:
        record.readable = readable(record.body)  # type: ignore[attr-defined]
    return records


def _page(
    request: HttpRequest, payment: Payment, reject_form: RejectForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "payment": payment,
        "reject_form": reject_form or RejectForm(),
        "currency": settings.SMMPANEL_CURRENCY,
        "nav": "deposits",
        "manual": payment.method == Payment.Method.BANK_TRANSFER,
        "records": _records(payment),
        "may_check": deposit_actions.may_check(payment),
        "may_refund": deposit_actions.may_refund(payment),
        "may_settle": deposit_actions.may_settle(payment),
        "refund_form": deposit_actions.RefundForm(),
        "settle_form": deposit_actions.SettleForm(),
    }
    return render(request, "console/deposit.html", context, status=status)


def _payment(payment_id: int) -> Payment:
    return get_object_or_404(Payment.objects.select_related("user", "decided_by"), pk=payment_id)


@staff_view("deposits")
def deposit_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    return _page(request, _payment(payment_id))


def _operator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _not_by_hand(request: HttpRequest, payment: Payment) -> HttpResponseBase:
    """A gateway's deposit is decided by what the gateway says, never by a person's click."""
    messages.error(
        request, _("Only a bank transfer is confirmed or rejected by hand: ask the gateway instead.")
    )
    return redirect("console:deposit", payment.pk)


@staff_view("deposits")
@require_POST
def confirm(request: HttpRequest, payment_id: int) -> HttpResponseBase:
    payment = _payment(payment_id)
    if payment.method != Payment.Method.BANK_TRANSFER:
        return _not_by_hand(request, payment)
    try:
        with transaction.atomic():
            confirmed = payments.confirm(payment.pk, _operator(request))
            if confirmed:
                audit_action(
                    request,
                    "deposit.confirm",
                    object_type="deposit",
                    object_id=payment.pk,
                    before={"status": Payment.Status.PENDING},
                    after={"status": Payment.Status.CONFIRMED, "amount": payment.amount},
                )
    except payments.PaymentError as exc:
        messages.error(request, exc.message)
        return redirect("console:deposit", payment.pk)
    if confirmed:
        messages.success(
            request, _("Confirmed: the amount is credited to %(name)s.") % {"name": payment.user.username}
        )
    else:
        messages.info(request, _("This deposit was confirmed already: nothing was credited again."))
    return redirect("console:deposit", payment.pk)


@staff_view("deposits")
@require_POST
def reject(request: HttpRequest, payment_id: int) -> HttpResponseBase:
    payment = _payment(payment_id)
    if payment.method != Payment.Method.BANK_TRANSFER:
        return _not_by_hand(request, payment)
    form = RejectForm(request.POST)
    if not form.is_valid():
        return _page(request, payment, form, status=400)
    note = form.cleaned_data["note"].strip()
    try:
        with transaction.atomic():
            rejected = payments.reject(payment.pk, _operator(request), note)
            if rejected:
                audit_action(
                    request,
                    "deposit.reject",
                    object_type="deposit",
                    object_id=payment.pk,
                    before={"status": Payment.Status.PENDING},
                    after={"status": Payment.Status.REJECTED},
                    note=note,
                )
    except payments.PaymentError as exc:
        messages.error(request, exc.message)
        return redirect("console:deposit", payment.pk)
    if rejected:
        messages.success(request, _("Rejected: nothing was credited."))
    else:
        messages.info(request, _("This deposit was rejected already."))
    return redirect("console:deposit", payment.pk)
