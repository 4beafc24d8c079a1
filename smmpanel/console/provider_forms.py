"""The console's provider forms: a provider's settings (the key write-only: the field is always
empty, and on a stored provider a blank field keeps the key), the filter of its calls, and the
words each failed balance check is told in."""

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import URLValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.catalog.models import Provider
from smmpanel.ledger.money import normalised
from smmpanel.providers import connection, registry
from smmpanel.providers.models import UpstreamCall

KIND_LABELS: dict[str, Any] = {
    Provider.Kind.API_V2: gettext_lazy("API v2 panel"),
    Provider.Kind.MANUAL: gettext_lazy("Manual (you fulfil the orders)"),
    Provider.Kind.SIMULATED: gettext_lazy("Simulated (demo and tests only)"),
}
OUTCOME_LABELS: dict[str, Any] = {
    UpstreamCall.Outcome.OK: gettext_lazy("Answered"),
    UpstreamCall.Outcome.ERROR: gettext_lazy("Refused (an error answer)"),
    UpstreamCall.Outcome.TIMEOUT: gettext_lazy("Timed out"),
    UpstreamCall.Outcome.CONNECTION: gettext_lazy("Connection failed"),
    UpstreamCall.Outcome.HTTP_ERROR: gettext_lazy("HTTP error"),
    UpstreamCall.Outcome.BAD_ANSWER: gettext_lazy("Unreadable answer"),
}
# The API's actions (docs/api.md), as the calls record them.
ACTIONS = ("add", "status", "services", "balance", "refill", "refill_status", "cancel")


def check_problem(failure: connection.CheckFailed) -> str:
    """A failed balance call in the operator's words, with what the client saw."""
    words = {
        connection.REFUSED: _("The provider refused the key: “%(detail)s”. Check the API key."),
        connection.NOT_JSON: _(
            "The address answered, but not with the API's JSON (%(detail)s). Check that it is the "
            "provider's API address, such as https://panel.example/api/v2."
        ),
        connection.HTTP_STATUS: _(
            "The provider answered with an HTTP error (%(detail)s). Check the address, or try again later."
        ),
    }.get(
        failure.kind,
        _("The provider could not be reached (%(detail)s). Check the address and that the panel is up."),
    )
    return words % {"detail": failure.detail}


class ProviderForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=list(KIND_LABELS.items()))
    url = forms.CharField(
        label=gettext_lazy("API address"),
        required=False,
        max_length=500,
        help_text=gettext_lazy(
            "For instance https://panel.example/api/v2. Not needed for a manual provider."
        ),
    )
    api_key = forms.CharField(
        label=gettext_lazy("API key"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy("Write-only: it is never shown again."),
    )
    currency = forms.CharField(
        label=gettext_lazy("Its currency"),
        min_length=3,
        max_length=3,
        help_text=gettext_lazy("The currency of its prices and balance, as a 3-letter code."),
    )
    exchange_rate = forms.CharField(
        label=gettext_lazy("Exchange rate"),
        required=False,
        max_length=30,
        help_text=gettext_lazy("What one unit of its currency is worth in the panel's currency."),
    )
    requests_per_second = forms.FloatField(
        label=gettext_lazy("Requests per second"),
        min_value=0.01,
        max_value=1000,
        initial=5,
        help_text=gettext_lazy("At most this many calls a second, all workers together."),
    )
    timeout_seconds = forms.FloatField(
        label=gettext_lazy("Timeout, seconds"),
        min_value=0.5,
        max_value=300,
        initial=30,
        help_text=gettext_lazy("The total time allowed for one call."),
    )
    honours_idempotency = forms.BooleanField(
        label=gettext_lazy("Honours Idempotency-Key (another smmpanel does)"),
        required=False,
        help_text=gettext_lazy("Orders whose send is in doubt are then settled automatically."),
    )

    def __init__(self, data: Any = None, provider: Provider | None = None) -> None:
        super().__init__(data=data, initial=initial_for(provider), prefix="provider")
        self.provider = provider
        if provider is not None:
            self.fields["api_key"].label = gettext_lazy("Replace the key")
            self.fields["api_key"].help_text = gettext_lazy(
                "Write-only: the stored key is never shown. Leave it empty to keep it."
            )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        taken = Provider.objects.filter(name__iexact=name)
        if self.provider is not None:
            taken = taken.exclude(pk=self.provider.pk)
        if taken.exists():
            raise forms.ValidationError(_("Another provider has this name."))
        return name

    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"]).strip()
        if url:
            try:
                URLValidator(schemes=["http", "https"])(url)
            except forms.ValidationError:
                raise forms.ValidationError(
                    _("Enter a web address starting with https:// or http://.")
                ) from None
        return url

    def clean_currency(self) -> str:
        currency = str(self.cleaned_data["currency"]).strip().upper()
        if not (currency.isascii() and currency.isalpha()):
            raise forms.ValidationError(_("Enter a 3-letter currency code such as USD or EUR."))
        return currency

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        api = data.get("kind") == Provider.Kind.API_V2
        if api and not data.get("url") and "url" not in self.errors:
            self.add_error("url", _("An API provider needs its API address."))
        stored_key = self.provider.api_key if self.provider is not None else ""
        if api and not data.get("api_key") and not stored_key:
            self.add_error("api_key", _("An API provider needs its API key."))
        currency = data.get("currency")
        rate_text = str(data.get("exchange_rate") or "").strip()
        data["exchange_rate"] = None
        if currency and currency != settings.SMMPANEL_CURRENCY.strip().upper():
            if not rate_text:
                self.add_error("exchange_rate", _("A provider in another currency needs its rate."))
            else:
                try:
                    data["exchange_rate"] = registry.parse_exchange_rate(rate_text)
                except ValueError:
                    self.add_error(
                        "exchange_rate", _("Enter a positive number of at most 8 decimals, such as 1.08.")
                    )
        return data

    def wanted(self) -> registry.Settings:
        data = self.cleaned_data
        return registry.Settings(
            name=data["name"],
            kind=data["kind"],
            url=data["url"],
            currency=data["currency"],
            requests_per_second=data["requests_per_second"],
            timeout_seconds=data["timeout_seconds"],
            honours_idempotency=data["honours_idempotency"],
            exchange_rate=data["exchange_rate"],
            key=data["api_key"].strip(),
        )


def initial_for(provider: Provider | None) -> dict[str, Any]:
    """The form's values from the stored provider, never its key."""
    if provider is None:
        return {"kind": Provider.Kind.API_V2, "currency": settings.SMMPANEL_CURRENCY, "exchange_rate": "1"}
    values = {name: getattr(provider, name) for name in registry.EDITED}
    for name in ("requests_per_second", "timeout_seconds"):
        values[name] = f"{values[name]:g}"  # 5, not 5.0
    values["exchange_rate"] = normalised(provider.exchange_rate)
    return values


class CallFilter(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("Action"),
        required=False,
        choices=[("", gettext_lazy("Any"))] + [(a, a) for a in ACTIONS],
    )
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        required=False,
        choices=[("", gettext_lazy("Any")), *OUTCOME_LABELS.items()],
    )
