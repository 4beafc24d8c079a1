"""The form for one gateway's settings in the console. Keys are write-only: a key field is always
empty, blank keeps the stored key, "forget" removes it; only "set" or "not set" is ever shown.
A gateway whose keys come from the environment has no key fields at all."""

import os
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.ledger.money import MAX_AMOUNT, normalised
from smmpanel.payments.gateways.base import Config, Gateway
from smmpanel.payments.models import GatewaySetting

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as Lazy
else:
    from django.utils.functional import Promise as Lazy

HUNDRED = Decimal(100)
# The fields copied to GatewaySetting as they are (keys, names and instructions are handled apart).
PLAIN = (
    "enabled",
    "base_url",
    "min_amount",
    "max_amount",
    "fee_percent",
    "fee_fixed",
    "bonus_percent",
    "bonus_from",
)


def money_field(label: Lazy, required: bool = True, help_text: Lazy | str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=required,
        initial=None if not required else 0,
        max_digits=20,
        decimal_places=6,
        min_value=Decimal(0),
        max_value=MAX_AMOUNT,
        help_text=help_text,
    )


def percent_field(label: Lazy) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, initial=0, max_digits=9, decimal_places=4, min_value=Decimal(0), max_value=HUNDRED
    )


def url_from_environment(name: str) -> bool:
    return bool(os.environ.get(f"SMMPANEL_{name.upper()}_URL", "").strip())


def key_field(name: str) -> str:
    return f"key_{name}"


def forget_field(name: str) -> str:
    return f"forget_{name}"


class GatewayForm(forms.Form):
    enabled = forms.BooleanField(label=gettext_lazy("Enabled: customers may pay with it"), required=False)
    base_url = forms.URLField(
        label=gettext_lazy("API address"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Blank: the gateway's own address."),
    )
    min_amount = money_field(gettext_lazy("Smallest deposit"), required=False)
    max_amount = money_field(gettext_lazy("Largest deposit"), required=False)
    fee_percent = percent_field(gettext_lazy("Fee, percent"))
    fee_fixed = money_field(gettext_lazy("Fee, fixed amount"))
    bonus_percent = percent_field(gettext_lazy("Bonus, percent"))
    bonus_from = money_field(
        gettext_lazy("Bonus from a deposit of"),
        help_text=gettext_lazy("For instance 5 percent from 100: a deposit of 100 or more gets 5 % more."),
    )

    def __init__(
        self,
        gateway: Gateway,
        config: Config,
        data: Mapping[str, Any] | None = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, initial=initial, prefix=gateway.name)
        self.gateway, self.config = gateway, config
        self.stored_keys = {} if config.from_environment else dict(config.credentials)
        self.url_from_environment = url_from_environment(gateway.name)
        if gateway.manual:  # nothing to call: no address
            del self.fields["base_url"]
        if self.url_from_environment:
            self.fields["base_url"].disabled = True
        if config.from_environment:
            self.fields["enabled"].disabled = True
        else:
            for credential in gateway.credentials:
                widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
                self.fields[key_field(credential.name)] = forms.CharField(
                    label=str(credential.label), required=False, max_length=1000, strip=True, widget=widget
                )
                if config.key(credential.name):
                    self.fields[forget_field(credential.name)] = forms.BooleanField(
                        label=_("Forget the stored %(key)s") % {"key": credential.label}, required=False
                    )
        for code, language in settings.LANGUAGES:
            self.fields[f"name_{code}"] = forms.CharField(
                label=_("Name shown to customers (%(language)s)") % {"language": language},
                required=False,
                max_length=100,
            )
            self.fields[f"instructions_{code}"] = forms.CharField(
                label=_("Instructions for customers (%(language)s)") % {"language": language},
                required=False,
                max_length=2000,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def key_fields(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """Each key's field, with its "forget" box when a key is stored."""
        return [
            (
                self[key_field(c.name)],
                self[forget_field(c.name)] if forget_field(c.name) in self.fields else None,
            )
            for c in self.gateway.credentials
            if key_field(c.name) in self.fields
        ]

    def setting_fields(self) -> list[forms.BoundField]:
        skipped = ("enabled", "key_", "forget_", "name_", "instructions_")
        return [self[n] for n in self.fields if not n.startswith(skipped)]

    def languages(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(language, its name field, its instructions field) for each site language."""
        return [
            (name, self[f"name_{code}"], self[f"instructions_{code}"]) for code, name in settings.LANGUAGES
        ]

    def keys_after(self, stored_now: Mapping[str, str] | None = None) -> dict[str, str]:
        """The stored keys once this form is saved: typed ones replace, forgotten ones go, the
        others stay as stored (`stored_now`: as the locked row holds them)."""
        stored = dict(self.stored_keys if stored_now is None else stored_now)
        for credential in self.gateway.credentials:
            typed = self.cleaned_data.get(key_field(credential.name), "")
            if typed:
                stored[credential.name] = typed
            elif self.cleaned_data.get(forget_field(credential.name)):
                stored.pop(credential.name, None)
        return stored

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low > high:
            self.add_error("max_amount", _("The largest deposit must not be below the smallest."))
        if low is not None and low <= 0:
            self.add_error("min_amount", _("Leave it blank, or enter an amount greater than zero."))
        if high is not None and high <= 0:
            self.add_error("max_amount", _("Leave it blank, or enter an amount greater than zero."))
        if self.errors or self.config.from_environment or not data.get("enabled"):
            return data
        keys = self.keys_after()
        missing = [c.label for c in self.gateway.credentials if c.required and not keys.get(c.name)]
        if missing:
            raise forms.ValidationError(
                _("Set every key before enabling it; missing: %(keys)s.")
                % {"keys": ", ".join(map(str, missing))}
            )
        return data


def initial_for(row: GatewaySetting | None, gateway: Gateway) -> dict[str, Any]:
    """The form's values from the stored row (never a key)."""
    if row is None:
        return {"enabled": gateway.on_by_default}
    values: dict[str, Any] = {name: getattr(row, name) for name in PLAIN}
    for name, value in values.items():
        if isinstance(value, Decimal):
            values[name] = normalised(value)  # 2.5, not 2.5000
    for code, _language in settings.LANGUAGES:
        values[f"name_{code}"] = row.names.get(code, "")
        values[f"instructions_{code}"] = row.instructions.get(code, "")
    return values


def snapshot(row: GatewaySetting, gateway: Gateway) -> dict[str, Any]:
    """What the audit log keeps of a gateway's settings: every value but the keys, which are
    only "set" or "not set"."""
    values: dict[str, Any] = {name: getattr(row, name) for name in PLAIN}
    values["names"], values["instructions"] = dict(row.names), dict(row.instructions)
    for credential in gateway.credentials:
        values[f"key {credential.name}"] = "set" if row.credentials.get(credential.name) else "not set"
    return values
