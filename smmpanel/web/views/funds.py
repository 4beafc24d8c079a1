"""Add funds (a bank transfer, or a gateway: web/paying.py), one payment's page, and the
customer's ledger."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override
from django.views.decorators.http import require_http_methods

from smmpanel.accounts.models import User
from smmpanel.ledger import totals
from smmpanel.ledger.models import KIND_LABELS, LedgerEntry
from smmpanel.payments import deposits, gateways
from smmpanel.payments import services as payments
from smmpanel.payments.models import Payment
from smmpanel.web import paying
from smmpanel.web.forms.funds import KIND_CHOICES, DepositForm, GatewayDepositForm

PAGE_SIZE = 50
RECENT_PAYMENTS = 20
Kind = LedgerEntry.Kind

# Memos the panel writes itself (smmpanel/accounts/services.py), stored in English: shown in the
# reader's language. A memo an operator typed is shown as typed.
PANEL_MEMOS = {
    "Opening balance": gettext_lazy("Opening balance"),
    "Adjustment": gettext_lazy("Adjustment"),
}


def memo_shown(memo: str) -> str:
    """A ledger memo in the reader's language where the panel wrote it, else as stored."""
    if memo in PANEL_MEMOS:
        return str(PANEL_MEMOS[memo])
    # A deposit's "<method> <reference>" (smmpanel/payments/services.py), stored in the panel's language.
    method, _sep, reference = memo.rpartition(" ")
    with override(settings.LANGUAGE_CODE):
        stored = {str(label): label for label in Payment.Method.labels}
    if method in stored and reference:
        return f"{stored[method]} {reference}"
    return memo


def _customer(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


DEFAULT_INSTRUCTIONS = gettext_lazy(
    "Transfer the amount to the panel's bank account and write the reference code in the "
    "transfer's description. The operator credits your balance when the money arrives."
)


def _instructions() -> str:
    """The operator's own words (SMMPANEL_BANK_TRANSFER_INSTRUCTIONS), else a translated default."""
    return settings.SMMPANEL_BANK_TRANSFER_INSTRUCTIONS or str(DEFAULT_INSTRUCTIONS)


@login_required
@require_http_methods(["GET", "POST"])
def funds(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    ways = paying.options()
    bank = gateways.usable(Payment.Method.BANK_TRANSFER)
    posted = request.POST if request.method == "POST" else None
    by_gateway = posted is not None and posted.get("way") == "gateway"
    form = DepositForm(None if by_gateway else posted)
    pay_form = GatewayDepositForm(choices=[way.name for way in ways], prefix="pay")
    if by_gateway:
        pay_form, response = paying.pay(request, ways)
        if response is not None:
            return response
    elif posted is not None and bank is not None and form.is_valid():
        try:
            amount = deposits.check_limits(bank[1], form.cleaned_data["amount"])
            payment = payments.request_bank_transfer(user, amount)
            return redirect("payment", payment.pk)
        except payments.PaymentError as exc:
            form.add_error("amount", exc.message)
    context = {
        "nav": "funds",
        "form": form,
        "bank": bank is not None,
        "ways": ways,
        "pay_form": pay_form,
        "preview": paying.preview_for(posted.get("pay-method", ""), posted.get("pay-amount", ""))
        if posted is not None and by_gateway
        else paying.Preview(),
        "chosen": pay_form["method"].value()
        if pay_form.is_bound
        else (ways[0].name if len(ways) == 1 else ""),
        "instructions": _instructions(),
        "payments": Payment.objects.filter(user=user)[:RECENT_PAYMENTS],
    }
    return paying.allow_checkouts(render(request, "web/funds/funds.html", context))


@login_required
@require_http_methods(["GET", "POST"])
def payment(request: HttpRequest, payment_id: int) -> HttpResponse:
    user = _customer(request)
    try:
        item = Payment.objects.select_related("user").get(pk=payment_id, user=user)
    except Payment.DoesNotExist:
        raise Http404 from None
    if item.method != Payment.Method.BANK_TRANSFER:
        if request.method == "POST":
            return redirect("payment", item.pk)
        return paying.gateway_payment(request, item)
    if request.method == "POST":
        if request.POST.get("action") == "cancel":
            try:
                payments.cancel(item.pk, user)
                messages.success(request, _("The payment request is canceled."))
            except payments.PaymentError as exc:
                messages.error(request, exc.message)
        return redirect("payment", item.pk)
    context = {
        "nav": "funds",
        "payment": item,
        "instructions": _instructions(),
    }
    return render(request, "web/funds/payment.html", context)


@dataclass(frozen=True)
class Row:
    """One ledger entry as the transactions page shows it."""

    created_at: datetime
    kind: str
    label: str
    memo: str
    order_id: int | None
    amount: Decimal
    balance_after: Decimal

    @property
    def credit(self) -> bool:
        return self.amount >= 0

    @property
    def magnitude(self) -> Decimal:
        return abs(self.amount)


@login_required
def transactions(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    kind = request.GET.get("kind", "")
    entries = LedgerEntry.objects.filter(user=user).order_by("-id")
    if kind in Kind.values:
        entries = entries.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(entries.only(*_ROW_FIELDS), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        Row(
            e.created_at,
            e.kind,
            str(KIND_LABELS.get(e.kind, e.kind)),
            memo_shown(e.memo),
            e.order_id,
            e.amount,
            e.balance_after,
        )
        for e in page.object_list
    ]
    sums = totals.by_kind(user.pk)
    context = {
        "nav": "funds",
        "page": page,
        "rows": rows,
        "kind": kind,
        "kinds": KIND_CHOICES,
        "deposits": sums[Kind.DEPOSIT],
        "spent": totals.spent(sums),
    }
    return render(request, "web/funds/transactions.html", context)


_ROW_FIELDS = ("id", "created_at", "kind", "memo", "order_id", "amount", "balance_after")
