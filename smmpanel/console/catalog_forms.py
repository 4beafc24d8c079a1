"""The console's catalogue forms: the services list's filters (GET parameters), the bulk action on
services and one service's edit. They parse; catalog/editing.py decides and writes."""

from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from smmpanel.catalog.editing import DOWN, MARKUP, SET, UP, Reprice
from smmpanel.catalog.listing import DISABLED, ENABLED, ServiceQuery
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.catalog.pricing import FIXED, PERCENT
from smmpanel.catalog.types import TYPE_LABELS
from smmpanel.ledger.money import MAX_AMOUNT, PLACES


def _money(label: Any, **kwargs: Any) -> forms.DecimalField:
    """A price, a percent or a step: plain decimals, at most 6 places."""
    return forms.DecimalField(label=label, max_digits=20, decimal_places=6, **kwargs)


def _types() -> list[tuple[str, Any]]:
    return list(TYPE_LABELS.items())


class ServiceFilter(forms.Form):
    """The services list's filters and search, as GET parameters (a bookmark keeps them)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200)
    category = forms.ModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=Category.objects.order_by("sort_order", "id"),
        empty_label="—",
    )
    provider = forms.ModelChoiceField(
        label=_("Provider"), required=False, queryset=Provider.objects.order_by("name"), empty_label="—"
    )
    type = forms.ChoiceField(label=_("Type"), required=False, choices=[("", "—"), *_types()])
    state = forms.ChoiceField(
        label=_("On sale"),
        required=False,
        choices=[("", "—"), (ENABLED, _("Enabled")), (DISABLED, _("Disabled"))],
    )
    losing = forms.BooleanField(label=_("Losing money"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"type": "search", "placeholder": _("Service id or name")})

    def query(self) -> ServiceQuery | None:
        """The query the filters ask for; None when one of them is not valid."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        return ServiceQuery(
            category_id=data["category"].pk if data["category"] else None,
            provider_id=data["provider"].pk if data["provider"] else None,
            type=data["type"],
            state=data["state"],
            losing=data["losing"],
            search=data["q"].strip(),
        )

    def filtering(self) -> bool:
        return any(self.data.get(name) for name in self.fields)


ACTIONS = [
    ("enable", _("Enable")),
    ("disable", _("Disable")),
    ("move", _("Move to a category")),
    ("reprice", _("Reprice")),
    ("limits", _("Set min / max")),
]
REPRICE_CHOICES = [
    (SET, _("Set the price to")),
    (UP, _("Percent up")),
    (DOWN, _("Percent down")),
    (MARKUP, _("Markup over cost")),
]


class BulkServiceForm(forms.Form):
    """One action on the services ticked in the list, or on every service the filter matches."""

    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    services = forms.TypedMultipleChoiceField(coerce=int, required=False)
    every = forms.BooleanField(label=_("Every service matching the filter"), required=False)
    category = forms.ModelChoiceField(
        label=_("To category"),
        required=False,
        queryset=Category.objects.order_by("sort_order", "id"),
        empty_label="—",
        error_messages={"invalid_choice": _("Choose a category that exists.")},
    )
    mode = forms.ChoiceField(label=_("Reprice"), choices=REPRICE_CHOICES, required=False)
    value = _money(_("Price, percent or markup"), required=False)
    markup_kind = forms.ChoiceField(
        label=_("Markup in"),
        required=False,
        choices=[
            (PERCENT, _("percent")),
            (FIXED, _("amount (%(currency)s)") % {"currency": settings.SMMPANEL_CURRENCY}),
        ],
    )
    step = _money(_("Round up to"), required=False, initial=Decimal("0.01"))
    min = forms.IntegerField(label=_("Min"), required=False, min_value=1)
    max = forms.IntegerField(label=_("Max"), required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["services"]
        assert isinstance(field, forms.TypedMultipleChoiceField)
        given = self.data.getlist("services") if hasattr(self.data, "getlist") else []
        field.choices = [(str(v), str(v)) for v in given]
        field.error_messages["invalid_choice"] = _("A selected service is not a service id.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "move" and not data.get("category"):
            self.add_error("category", _("Choose a category that exists."))
        if action == "reprice" and (not data.get("mode") or data.get("value") is None):
            self.add_error("value", _("Choose how to reprice and enter the price, percent or markup."))
        return data

    def reprice(self) -> Reprice:
        data = self.cleaned_data
        step = data.get("step") or PLACES
        return Reprice(data["mode"], data["value"], data.get("markup_kind") or PERCENT, step)


def _language_fields() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


class ServiceForm(forms.Form):
    """One service's edit: its names and descriptions in each site language and its settings."""

    name = forms.CharField(label=_("Name"), max_length=500)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.order_by("sort_order", "id")
    )
    type = forms.ChoiceField(label=_("Type"), choices=_types)
    rate = _money(_("Price per 1000 (or per package)"), min_value=0, max_value=MAX_AMOUNT)
    min = forms.IntegerField(label=_("Min"), min_value=1)
    max = forms.IntegerField(label=_("Max"), min_value=1)
    average_minutes = forms.IntegerField(
        label=_("Average delivery time (minutes)"),
        required=False,
        min_value=0,
        help_text=_("Shown to customers on the price list; empty: not shown."),
    )
    refill = forms.BooleanField(label=_("Refill"), required=False)
    refill_days = forms.IntegerField(label=_("Refill days"), min_value=0)
    cancel = forms.BooleanField(label=_("Cancel"), required=False)
    dripfeed = forms.BooleanField(label=_("Drip-feed"), required=False)
    enabled = forms.BooleanField(label=_("Enabled (on sale)"), required=False)
    on_refusal = forms.ChoiceField(
        label=_("When the provider refuses an order"),
        # The model's labels are the admin's English; the console says them in its reader's language.
        choices=[
            (Service.OnRefusal.CANCEL, _("Cancel the order and refund it")),
            (Service.OnRefusal.RETRY, _("Retry later")),
            (Service.OnRefusal.HOLD, _("Hold it for the operator")),
        ],
    )
    stuck_after_minutes = forms.IntegerField(
        label=_("Stuck after (minutes)"),
        required=False,
        min_value=1,
        help_text=_("Empty: the panel's default."),
    )
    provider = forms.ModelChoiceField(
        label=_("Provider"), required=False, queryset=Provider.objects.order_by("name"), empty_label="—"
    )
    provider_service = forms.ModelChoiceField(
        label=_("Provider's service"),
        required=False,
        queryset=ProviderService.objects.none(),
        empty_label="—",
    )
    fallback_service = forms.ModelChoiceField(
        label=_("Fallback provider's service"),
        required=False,
        queryset=ProviderService.objects.none(),
        empty_label="—",
        help_text=_(
            "Another provider's service that takes the order when the first refuses it or is disabled."
        ),
    )

    def __init__(self, *args: Any, service: Service, type_locked: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        listed = ProviderService.objects.select_related("provider").order_by("provider__name", "external_id")
        own = service.provider_id
        self.fields["provider_service"].queryset = listed.filter(provider_id=own) if own else listed  # type: ignore[attr-defined]
        self.fields["fallback_service"].queryset = listed.exclude(provider_id=own) if own else listed  # type: ignore[attr-defined]
        if type_locked:
            self.fields["type"].disabled = True
            self.fields["type"].help_text = _("A service with orders keeps its type.")
        for code, language in _language_fields():
            self.fields[f"name_{code}"] = forms.CharField(
                label=_("Name (%(language)s)") % {"language": language}, required=False, max_length=500
            )
            self.fields[f"description_{code}"] = forms.CharField(
                label=_("Description (%(language)s)") % {"language": language},
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
            )

    def groups(self) -> list[tuple[Any, list[forms.BoundField]]]:
        """The fields in the page's sections: (legend, fields)."""
        named = [n for n in self.fields if n.startswith(("name", "description"))]
        parts = [
            (_("Names and descriptions"), named),
            (_("Sale"), ["category", "type", "rate", "min", "max", "average_minutes", "enabled"]),
            (
                _("Options"),
                ["refill", "refill_days", "cancel", "dripfeed", "on_refusal", "stuck_after_minutes"],
            ),
            (_("Provider"), ["provider", "provider_service", "fallback_service"]),
        ]
        return [(legend, [self[name] for name in names]) for legend, names in parts]

    @staticmethod
    def initial_for(service: Service) -> dict[str, Any]:
        initial: dict[str, Any] = {
            name: getattr(service, name)
            for name in ("name", "description", "type", "rate", "min", "max", "average_minutes", "refill")
            + ("refill_days", "cancel", "dripfeed", "enabled", "on_refusal", "stuck_after_minutes")
        }
        initial.update(
            category=service.category_id,
            provider=service.provider_id,
            provider_service=service.provider_service_id,
            fallback_service=service.fallback_service_id,
        )
        for code, _language in _language_fields():
            initial[f"name_{code}"] = service.names.get(code, "")
            initial[f"description_{code}"] = service.descriptions.get(code, "")
        return initial

    def fields_to_save(self) -> dict[str, Any]:
        """The service's fields as editing.edit takes them."""
        data = dict(self.cleaned_data)
        names = {code: data.pop(f"name_{code}").strip() for code, _language in _language_fields()}
        descriptions = {
            code: data.pop(f"description_{code}").strip() for code, _language in _language_fields()
        }
        for key in ("category", "provider", "provider_service", "fallback_service"):
            chosen = data.pop(key)
            data[f"{key}_id"] = chosen.pk if chosen else None
        data["names"] = {code: text for code, text in names.items() if text}
        data["descriptions"] = {code: text for code, text in descriptions.items() if text}
        data["name"] = data["name"].strip()
        return data
