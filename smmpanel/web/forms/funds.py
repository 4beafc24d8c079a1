import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from smmpanel.ledger.models import KIND_FILTER_LABELS
from smmpanel.ledger.money import EXACT, MAX_AMOUNT, amount_text, normalised
from smmpanel.payments.services import PaymentError, minimum_deposit, parse_deposit

# One separator followed by exactly three digits, after one to three digits: "1.250", "12,500".
_THOUSANDS_OR_DECIMALS = re.compile(r"[+-]?[1-9][0-9]{0,2}[.,][0-9]{3}")


def _example(amount: str) -> str:
    """An amount as the reader writes it, without grouping: 1250,50 in Spanish."""
    return formats.number_format(Decimal(amount), use_l10n=True)


def typed_amount(text: str) -> str:
    """An amount typed in the site's language, as plain digits with a dot for decimals.

    Spanish writes decimals with a comma (12,50), and a dot is read as one too (12.50);
    English only with a dot. No thousands separators: what could be read two ways
    is refused with how to write it, never guessed (docs/money.md).
    """
    text = text.strip()
    comma_decimals = formats.get_format("DECIMAL_SEPARATOR") == ","
    if "," in text and not comma_decimals:
        raise forms.ValidationError(
            _("Write the amount with a dot for decimals and no thousands separator, such as 1250 or 12.50."),
            code="separator",
        )
    if ("," in text and "." in text) or text.count(",") + text.count(".") > 1:
        raise forms.ValidationError(
            _("Write the amount without a thousands separator, such as %(example)s.")
            % {"example": _example("1250.50")},
            code="separator",
        )
    if comma_decimals and _THOUSANDS_OR_DECIMALS.fullmatch(text):
        whole = re.sub(r"[.,]", "", text)
        fraction = _example(normalised(Decimal(text.replace(",", "."))))
        raise forms.ValidationError(
            _("%(typed)s could mean %(whole)s or %(fraction)s: write it without a thousands separator.")
            % {"typed": text, "whole": whole, "fraction": fraction},
            code="ambiguous",
        )
    return text.replace(",", ".")


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
            "minimum": amount_text(minimum_deposit(), EXACT),
        }

    def clean_amount(self) -> Decimal:
        try:
            return parse_deposit(typed_amount(self.cleaned_data["amount"]))
        except PaymentError as exc:
            raise forms.ValidationError(_bounds_shown(exc) or exc.message, code=exc.code) from None


class GatewayDepositForm(DepositForm):
    """A deposit through a gateway: which one (of those usable now), and the amount."""

    method = forms.ChoiceField(
        label=_("Way to pay"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose a way to pay."), "invalid_choice": _("Choose a way to pay.")},
    )

    def __init__(self, *args: object, choices: list[str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        method = self.fields["method"]
        assert isinstance(method, forms.ChoiceField)
        method.choices = [(name, name) for name in choices]
        self.order_fields(["method", "amount"])


def _bounds_shown(error: PaymentError) -> str:
    """The smallest or largest amount in the reader's number format (payments words it plainly)."""
    currency = settings.SMMPANEL_CURRENCY
    if error.code == "below_minimum":
        minimum = amount_text(minimum_deposit(), EXACT)
        return str(_("The smallest amount is %(minimum)s %(currency)s.")) % {
            "minimum": minimum,
            "currency": currency,
        }
    if error.code == "above_maximum":
        maximum = amount_text(MAX_AMOUNT, EXACT)
        return str(_("The largest amount is %(maximum)s %(currency)s.")) % {
            "maximum": maximum,
            "currency": currency,
        }
    return ""


KIND_CHOICES = [("", _("All")), *((str(kind), label) for kind, label in KIND_FILTER_LABELS.items())]
