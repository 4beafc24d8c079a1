"""Customers: the list with search, and a customer's page with what the operator does to them
(adjust the balance, their prices, API access, keys, suspension, signing in as them). Each
action parses a form, checks the role, calls the owning app's service function and records it
in the audit log, in one transaction."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from smmpanel.accounts import services as accounts
from smmpanel.accounts.models import ApiKey, User
from smmpanel.catalog import prices
from smmpanel.catalog.models import CustomerDiscount, CustomRate
from smmpanel.catalog.offers import parse_id
from smmpanel.console import impersonation
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import can, staff_view
from smmpanel.ledger import accounts as ledger_accounts
from smmpanel.ledger import totals
from smmpanel.ledger.admin import AdjustBalanceForm
from smmpanel.ledger.models import KIND_LABELS, LedgerEntry
from smmpanel.ledger.money import EXACT, MAX_AMOUNT, MoneyError, amount_text, parse_amount, parse_decimal
from smmpanel.ledger.services import BalanceLimit, InsufficientFunds, OwnBalance, exact_sums
from smmpanel.orders.models import Order
from smmpanel.payments.models import Payment

PER_PAGE = 50
RECENT = 20


class CustomerSearch(forms.Form):
    STATUSES = [
        ("", gettext_lazy("Any")),
        ("active", gettext_lazy("Active")),
        ("suspended", gettext_lazy("Suspended")),
        ("api_off", gettext_lazy("API off")),
    ]
    q = forms.CharField(label=gettext_lazy("Username or email"), required=False, max_length=254)
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False, choices=STATUSES)

    def customers(self) -> QuerySet[User]:
        found = accounts.customers().select_related("account").order_by("-id")
        if not self.is_valid():
            return found.none()
        text = self.cleaned_data["q"].strip()
        if text:
            found = found.filter(Q(username__icontains=text) | Q(email__icontains=text))
        status = self.cleaned_data["status"]
        if status == "active":
            found = found.filter(is_active=True, api_enabled=True)
        elif status == "suspended":
            found = found.filter(is_active=False)
        elif status == "api_off":
            found = found.filter(api_enabled=False)
        return found


def _spent_and_orders(ids: list[int]) -> tuple[dict[int, Decimal], dict[int, int]]:
    """What each of these customers spent (charges less refunds) and how many orders they placed."""
    kinds = (LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND)
    spent = exact_sums(LedgerEntry.objects.filter(user_id__in=ids, kind__in=kinds), "user_id")
    counted = Order.objects.filter(user_id__in=ids, parent__isnull=True).values("user_id")
    orders = dict(counted.annotate(n=Count("id")).values_list("user_id", "n"))
    return {k: -v for k, v in spent.items()}, orders


@staff_view("customers")
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerSearch(request.GET)
    page = Paginator(form.customers(), PER_PAGE).get_page(request.GET.get("page"))
    spent, orders = _spent_and_orders([c.pk for c in page])
    rows = [(c, spent.get(c.pk, Decimal(0)), orders.get(c.pk, 0)) for c in page]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "nav": "customers",
        "show_money": can(request, "money_figures"),
    }
    return render(request, "console/customers.html", context)


# The actions' forms.


class AdjustForm(AdjustBalanceForm):
    memo = forms.CharField(
        label=gettext_lazy("Memo"),
        max_length=500,
        help_text=gettext_lazy("Why: shown to the customer on their transactions page."),
    )


def _service_id(text: str) -> int:
    service_id = parse_id(text.lstrip("#"))
    if service_id is None:
        raise forms.ValidationError(_("Enter a service's number, such as 12."), code="invalid")
    return service_id


class RateForm(forms.Form):
    service = forms.CharField(label=gettext_lazy("Service #"), max_length=20)
    rate = forms.CharField(
        label=gettext_lazy("Their rate"),
        max_length=40,
        help_text=gettext_lazy("Per 1000, or per package; it wins over their discount."),
    )

    def clean_service(self) -> int:
        return _service_id(self.cleaned_data["service"])

    def clean_rate(self) -> Decimal:
        try:
            return parse_amount(self.cleaned_data["rate"])
        except MoneyError:
            raise forms.ValidationError(
                _("Enter a rate from 0 to %(max)s with at most 6 decimal places.")
                % {"max": amount_text(MAX_AMOUNT, EXACT)},
                code="invalid",
            ) from None


class RemoveRateForm(forms.Form):
    service = forms.CharField(max_length=20)

    def clean_service(self) -> int:
        return _service_id(self.cleaned_data["service"])


class DiscountForm(forms.Form):
    percent = forms.CharField(
        label=gettext_lazy("Discount (%)"),
        max_length=10,
        help_text=gettext_lazy("Off every service they have no rate of their own for."),
    )

    def clean_percent(self) -> Decimal:
        try:
            percent = parse_decimal(self.cleaned_data["percent"])
        except MoneyError:
            percent = Decimal(-1)  # refused below, in the same words as any percent out of range
        try:
            return prices.check_percent(percent)
        except prices.PriceError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


def _customer(customer_id: int) -> User:
    found = accounts.customers().select_related("account").filter(pk=customer_id).first()
    if found is None:
        raise Http404
    return found


def _page(request: HttpRequest, customer: User, status: int = 200, **bound: forms.Form) -> HttpResponse:
    money = can(request, "money_figures")
    context: dict[str, Any] = {
        "customer": customer,
        "nav": "customers",
        "orders": Order.objects.filter(user=customer).select_related("service").order_by("-id")[:RECENT],
        "keys": ApiKey.objects.filter(user=customer).order_by("-id"),
        "adjust_form": bound.get("adjust") or AdjustForm(),
        "rate_form": bound.get("rate") or RateForm(),
        "discount_form": bound.get("discount") or DiscountForm(),
        "currency": settings.SMMPANEL_CURRENCY,
        "show_money": money,
        "may_money": can(request, "customer_money"),
        "may_access": can(request, "customer_access"),
    }
    if money:
        kinds = totals.by_kind(customer.pk)
        context |= {
            "spent": totals.spent(kinds),
            "deposited": kinds[LedgerEntry.Kind.DEPOSIT],
            "adjusted": kinds[LedgerEntry.Kind.ADJUSTMENT],
            "entries": [
                (entry, KIND_LABELS.get(entry.kind, entry.kind))
                for entry in LedgerEntry.objects.filter(user=customer).select_related("actor")[:RECENT]
            ],
            "payments": Payment.objects.filter(user=customer)[:RECENT],
            "rates": CustomRate.objects.filter(user=customer)
            .select_related("service")
            .order_by("service_id"),
            "discount": CustomerDiscount.objects.filter(user=customer).first(),
        }
    return render(request, "console/customer.html", context, status=status)


@staff_view("customers")
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _page(request, _customer(customer_id))


Action = Callable[[HttpRequest, User], HttpResponseBase]


def action(capability: str) -> Callable[[Action], Callable[..., HttpResponseBase]]:
    """A customer action: POST only, guarded by `capability`, on a customer (404 for anyone else),
    ending on the customer's page."""

    def wrap(act: Action) -> Callable[..., HttpResponseBase]:
        @staff_view(capability)
        @require_POST
        def view(request: HttpRequest, customer_id: int) -> HttpResponseBase:
            return act(request, _customer(customer_id))

        view.__name__ = view.__qualname__ = act.__name__
        view.__doc__ = act.__doc__
        return view

    return wrap


def _back(customer: User) -> HttpResponse:
    return redirect("console:customer", customer.pk)


def _operator(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@action("customer_money")
def adjust_balance(request: HttpRequest, customer: User) -> HttpResponseBase:
    form = AdjustForm(request.POST)
    if not form.is_valid():
        return _page(request, customer, 400, adjust=form)
    amount, memo = form.cleaned_data["amount"], form.cleaned_data["memo"].strip()
    try:
        with transaction.atomic():
            balance = ledger_accounts.credit(customer, amount, memo=memo, actor=_operator(request))
            audit_action(
                request,
                "customer.adjust_balance",
                object_type="customer",
                object_id=customer.pk,
                before={"balance": balance - amount},
                after={"balance": balance, "amount": amount},
                note=memo,
            )
    except InsufficientFunds:
        form.add_error("amount", _("The debit is larger than the balance: nothing was changed."))
    except BalanceLimit:
        form.add_error(
            "amount", _("The credit would take the balance past the largest amount: nothing changed.")
        )
    except OwnBalance:
        form.add_error("amount", _("You cannot adjust your own balance: another operator must."))
    if form.errors:
        return _page(request, customer, 400, adjust=form)
    messages.success(
        request,
        _("The balance of %(name)s is now %(balance)s %(currency)s.")
        % {
            "name": customer.username,
            "balance": amount_text(balance, EXACT),
            "currency": settings.SMMPANEL_CURRENCY,
        },
    )
    return _back(customer)


@action("customer_money")
def set_rate(request: HttpRequest, customer: User) -> HttpResponseBase:
    form = RateForm(request.POST)
    if form.is_valid():
        service_id, rate = form.cleaned_data["service"], form.cleaned_data["rate"]
        try:
            with transaction.atomic():
                before, after = prices.set_custom_rate(customer, service_id, rate)
                audit_action(
                    request,
                    "customer.set_rate",
                    object_type="customer",
                    object_id=customer.pk,
                    before={"service": service_id, "rate": before},
                    after={"service": service_id, "rate": after},
                )
        except prices.PriceError as exc:
            form.add_error("service" if exc.code == "unknown_service" else "rate", exc.message)
    if not form.is_valid():
        return _page(request, customer, 400, rate=form)
    messages.success(request, _("Their rate for service #%(id)s is set.") % {"id": service_id})
    return _back(customer)


@action("customer_money")
def remove_rate(request: HttpRequest, customer: User) -> HttpResponseBase:
    form = RemoveRateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a service's number, such as 12."))
        return _back(customer)
    service_id = form.cleaned_data["service"]
    try:
        with transaction.atomic():
            removed = prices.remove_custom_rate(customer, service_id)
            audit_action(
                request,
                "customer.remove_rate",
                object_type="customer",
                object_id=customer.pk,
                before={"service": service_id, "rate": removed},
                after={"service": service_id, "rate": None},
            )
    except prices.PriceError as exc:
        messages.error(request, exc.message)
        return _back(customer)
    messages.success(request, _("Their own rate for service #%(id)s is removed.") % {"id": service_id})
    return _back(customer)


@action("customer_money")
def set_discount(request: HttpRequest, customer: User) -> HttpResponseBase:
    form = DiscountForm(request.POST)
    if not form.is_valid():
        return _page(request, customer, 400, discount=form)
    with transaction.atomic():
        before, after = prices.set_discount(customer, form.cleaned_data["percent"])
        audit_action(
            request,
            "customer.set_discount",
            object_type="customer",
            object_id=customer.pk,
            before={"discount": before},
            after={"discount": after},
        )
    messages.success(request, _("Their discount is set."))
    return _back(customer)


@action("customer_money")
def remove_discount(request: HttpRequest, customer: User) -> HttpResponseBase:
    try:
        with transaction.atomic():
            removed = prices.remove_discount(customer)
            audit_action(
                request,
                "customer.remove_discount",
                object_type="customer",
                object_id=customer.pk,
                before={"discount": removed},
                after={"discount": None},
            )
    except prices.PriceError as exc:
        messages.error(request, exc.message)
        return _back(customer)
    messages.success(request, _("Their discount is removed."))
    return _back(customer)


def _switch(request: HttpRequest, field: str) -> bool | None:
    """The on/off a switch's form sends ("on" or "off"); None for anything else."""
    return {"on": True, "off": False}.get(request.POST.get(field, ""))


def _switched(
    request: HttpRequest,
    customer: User,
    field: str,
    change: Callable[[User, bool], bool],
    audit: tuple[str, str, str, bool],
    said: tuple[str, str],
) -> HttpResponseBase:
    """An on/off switch of a customer's: `change(customer, on)` (False when it was so already),
    audited as `audit` = (action when on, action when off, the field recorded, whether that field
    is the switch's opposite) and answered with `said` = (message when on, message when off)."""
    on = _switch(request, field)
    if on is None:
        messages.error(request, _("Choose on or off."))
        return _back(customer)
    with transaction.atomic():
        changed = change(customer, on)
        if changed:
            audit_action(
                request,
                audit[0] if on else audit[1],
                object_type="customer",
                object_id=customer.pk,
                before={audit[2]: on == audit[3]},
                after={audit[2]: on != audit[3]},
            )
    if not changed:
        messages.info(request, _("Nothing changed: it was so already."))
    else:
        messages.success(request, said[0] if on else said[1])
    return _back(customer)


@action("customer_access")
def api_access(request: HttpRequest, customer: User) -> HttpResponseBase:
    return _switched(
        request,
        customer,
        "api",
        accounts.set_api_access,
        ("customer.api_access", "customer.api_access", "api_enabled", False),
        (
            _("API access is on: their active keys work again."),
            _("API access is off: every key of theirs is refused."),
        ),
    )


@action("customer_access")
def revoke_keys(request: HttpRequest, customer: User) -> HttpResponseBase:
    with transaction.atomic():
        revoked = accounts.revoke_api_keys(customer)
        if revoked:
            audit_action(
                request,
                "customer.revoke_keys",
                object_type="customer",
                object_id=customer.pk,
                after={"revoked": revoked},
            )
    if revoked:
        messages.success(
            request, ngettext("Revoked %(n)s API key.", "Revoked %(n)s API keys.", revoked) % {"n": revoked}
        )
    else:
        messages.info(request, _("Nothing changed: they had no active key."))
    return _back(customer)


@action("customer_access")
def suspend(request: HttpRequest, customer: User) -> HttpResponseBase:
    return _switched(  # recorded as the account's is_active, which suspending turns off
        request,
        customer,
        "suspended",
        accounts.set_suspended,
        ("customer.suspend", "customer.unsuspend", "is_active", True),
        (
            _("Suspended: they cannot sign in and the API refuses their keys."),
            _("The suspension is lifted."),
        ),
    )


@action("customer_access")
def impersonate(request: HttpRequest, customer: User) -> HttpResponseBase:
    """Sign in as the customer, to look only: their site, read-only, until End."""
    with transaction.atomic():
        previous = impersonation.end(request)
        if previous is not None:  # looking at another customer already: that ends first
            audit_action(request, "customer.impersonate_end", object_type="customer", object_id=previous)
        impersonation.start(request, customer)
        audit_action(request, "customer.impersonate_start", object_type="customer", object_id=customer.pk)
    return redirect("dashboard")


@staff_view("customer_access")
@require_POST
def end_impersonation(request: HttpRequest) -> HttpResponseBase:
    """End signing in as a customer and come back to their page in the console."""
    with transaction.atomic():
        customer_id = impersonation.end(request)
        if customer_id is not None:
            audit_action(request, "customer.impersonate_end", object_type="customer", object_id=customer_id)
    if customer_id is None:
        return redirect("console:customers")
    return redirect("console:customer", customer_id)
