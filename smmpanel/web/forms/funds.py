from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import normalised
from smmpanel.payments.services import PaymentError, minimum_deposit, parse_deposit


class DepositForm(forms.Form):
    amount = forms.CharField(
        label=_("Amount"),
        max_length=40,
        error_messages={"required": _("Enter the amount you want to add.")},
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["amount"].help_text = _("In %(currency)s, at least %(minimum)s.") % {
            "currency": settings.SMMPANEL_CURRENCY,
            "minimum": normalised(minimum_deposit()),
        }

    def clean_amount(self) -> Decimal:
        try:
            return parse_deposit(self.cleaned_data["amount"])
        except PaymentError as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


KIND_CHOICES = [("", _("All"))] + [
    (LedgerEntry.Kind.DEPOSIT.value, _("Deposits")),
    (LedgerEntry.Kind.CHARGE.value, _("Charges")),
    (LedgerEntry.Kind.REFUND.value, _("Refunds")),
    (LedgerEntry.Kind.ADJUSTMENT.value, _("Adjustments")),
]
