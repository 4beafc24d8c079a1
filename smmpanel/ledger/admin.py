from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.accounts.admin import UserAdmin
from smmpanel.accounts.models import User
from smmpanel.admin_base import ReadOnlyAdmin
from smmpanel.ledger import accounts
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import EXACT, MAX_AMOUNT, MoneyError, OutOfRange, amount_text, parse_amount
from smmpanel.ledger.services import BalanceLimit, InsufficientFunds

ADJUST = "accounts.adjust_balance"


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Read-only: entries are written by the ledger service, never edited."""

    list_display = ("id", "created_at", "user", "kind", "amount", "balance_after", "reference")
    list_filter = ("kind",)
    search_fields = ("user__username", "reference")


class AdjustBalanceForm(forms.Form):
    amount = forms.CharField(
        label=gettext_lazy("Amount"),
        max_length=40,
        help_text=gettext_lazy("Positive to credit the balance, negative (e.g. -5) to debit it."),
    )
    memo = forms.CharField(
        label=gettext_lazy("Memo"),
        max_length=500,
        required=False,
        help_text=gettext_lazy("Why: shown to the customer on their transactions page."),
    )

    def clean_amount(self) -> Decimal:
        try:
            amount = parse_amount(self.cleaned_data["amount"])
        except OutOfRange:
            raise forms.ValidationError(
                _("Enter an amount between -%(max)s and %(max)s.") % {"max": MAX_AMOUNT}, code="range"
            ) from None
        except MoneyError:
            raise forms.ValidationError(
                _("Enter an amount with at most 6 decimal places, such as 25 or -12.50."), code="invalid"
            ) from None
        if amount == 0:
            raise forms.ValidationError(_("Enter an amount other than zero."), code="zero")
        return amount


def _balance_text(amount: Decimal) -> dict[str, str]:
    return {"balance": amount_text(amount, EXACT), "currency": settings.SMMPANEL_CURRENCY}


class UserWithBalanceAdmin(UserAdmin):
    """The user page with the customer's balance, which moves only through the ledger: "Adjust
    balance" (shown to whoever may adjust), or `smmpanel user credit`."""

    list_display = ("username", "email", "balance", "api_enabled", "is_staff", "is_active")
    readonly_fields = ("balance", "adjust_balance_link")

    def panel_fields(self, request: HttpRequest, obj: User) -> tuple[str, ...]:
        money = ("balance", "adjust_balance_link") if request.user.has_perm(ADJUST) else ("balance",)
        return (*money, *super().panel_fields(request, obj))

    @admin.display(description=gettext_lazy("Credit or debit"))
    def adjust_balance_link(self, obj: User) -> str:
        url = reverse("admin:accounts_user_adjust", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Adjust balance"))

    def get_urls(self) -> list[URLPattern]:
        adjust = path(
            "<int:user_id>/adjust/",
            self.admin_site.admin_view(self.adjust_balance_view),
            name="accounts_user_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_balance_view(self, request: HttpRequest, user_id: int) -> HttpResponse:
        """A ledger adjustment by the operator (admin_view: staff only, CSRF-protected)."""
        customer = get_object_or_404(User, pk=user_id)
        if not request.user.has_perm(ADJUST):
            raise PermissionDenied
        assert isinstance(request.user, User)
        if customer.pk == request.user.pk:
            self.message_user(
                request, _("You cannot adjust your own balance: another operator must."), messages.ERROR
            )
            return redirect("admin:accounts_user_change", customer.pk)
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            balance = self._adjust(request.user, customer, form)
            if balance is not None:
                self.message_user(
                    request,
                    _("The balance of %(name)s is now %(balance)s %(currency)s.")
                    % {"name": customer.username, **_balance_text(balance)},
                    messages.SUCCESS,
                )
                return redirect("admin:accounts_user_change", customer.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Adjust the balance of %(name)s") % {"name": customer.username},
            "customer": customer,
            "form": form,
        }
        return TemplateResponse(request, "admin/accounts/user/adjust_balance.html", context)

    def _adjust(self, operator: User, customer: User, form: AdjustBalanceForm) -> Decimal | None:
        """The new balance, or None with the form saying why nothing changed."""
        amount, memo = form.cleaned_data["amount"], form.cleaned_data["memo"].strip()
        try:
            return accounts.credit(customer, amount, memo=memo, actor=operator)
        except BalanceLimit:
            form.add_error(
                "amount",
                _("The credit would take the balance past the largest amount, %(max)s: nothing changed.")
                % {"max": amount_text(MAX_AMOUNT, EXACT)},
            )
        except InsufficientFunds:
            customer.refresh_from_db()
            form.add_error(
                "amount",
                _("The debit is larger than the balance (%(balance)s %(currency)s): nothing was changed.")
                % _balance_text(customer.balance),
            )
        return None


# The ledger adds the balance to the accounts app's user page (accounts knows no money).
admin.site.unregister(User)
admin.site.register(User, UserWithBalanceAdmin)
