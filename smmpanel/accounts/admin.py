from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.accounts import services
from smmpanel.accounts.models import ApiKey, User
from smmpanel.ledger.money import EXACT, MAX_AMOUNT, MoneyError, OutOfRange, parse_amount
from smmpanel.ledger.services import BalanceLimit, InsufficientFunds
from smmpanel.web.templatetags.money import amount_text


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


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "balance", "api_enabled", "is_staff", "is_active")
    # The balance moves only through the ledger: "Adjust balance" (or `smmpanel user credit`).
    readonly_fields = ("balance", "adjust_balance_link")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Panel", {"fields": ("balance", "adjust_balance_link", "api_enabled")}),
    )

    @admin.display(description=gettext_lazy("Credit or debit"))
    def adjust_balance_link(self, obj: User) -> str:
        if obj.pk is None:
            return "-"
        url = reverse("admin:accounts_user_adjust", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Adjust balance"))

    # Rights only a superuser hands out: with them, whoever may edit users could make
    # themselves superuser, or grant themselves the right to move money.
    RIGHTS = ("is_staff", "is_superuser", "groups", "user_permissions")

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, *self.RIGHTS)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # A superuser's account (and so its password) is changed by a superuser only.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

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
        if not request.user.has_perm("accounts.adjust_balance"):
            raise PermissionDenied
        assert isinstance(request.user, User)
        if customer.pk == request.user.pk:
            self.message_user(
                request, _("You cannot adjust your own balance: another operator must."), messages.ERROR
            )
            return redirect("admin:accounts_user_change", customer.pk)
        form = AdjustBalanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            amount, memo = form.cleaned_data["amount"], form.cleaned_data["memo"].strip()
            try:
                balance = services.credit(customer, amount, memo=memo, actor=request.user)
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
                    % {
                        "balance": amount_text(customer.balance, EXACT),
                        "currency": settings.SMMPANEL_CURRENCY,
                    },
                )
            else:
                self.message_user(
                    request,
                    _("The balance of %(name)s is now %(balance)s %(currency)s.")
                    % {
                        "name": customer.username,
                        "balance": amount_text(balance, EXACT),
                        "currency": settings.SMMPANEL_CURRENCY,
                    },
                    messages.SUCCESS,
                )
                return redirect("admin:accounts_user_change", customer.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Adjust the balance of %(name)s") % {"name": customer.username},
            "customer": customer,
            "form": form,
            "currency": settings.SMMPANEL_CURRENCY,
        }
        return TemplateResponse(request, "admin/accounts/user/adjust_balance.html", context)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("user__username", "prefix")
    readonly_fields = ("key_hash", "prefix", "created_at")
    raw_id_fields = ("user",)

    def has_add_permission(self, request: object) -> bool:
        return False  # a key is shown once when issued; issue it with `smmpanel user create`
