"""The forms of a provider's import and sync pages: the filter of the import list, the pricing
rule and the category to import into, and the decisions on the sync page's lines."""

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from smmpanel.catalog.models import Category, Provider, ProviderService
from smmpanel.catalog.pricing import FIXED, PERCENT, PriceRule
from smmpanel.catalog.types import TYPE_LABELS
from smmpanel.ledger.money import MAX_AMOUNT, PLACES, normalised

ACCEPT, SKIP, LATER = "accept", "skip", "later"


class ImportFilter(forms.Form):
    """GET filters of the import list: the provider's category and the type."""

    category = forms.ChoiceField(label=_("Provider's category"), required=False)
    type = forms.ChoiceField(label=_("Type"), required=False)

    def __init__(self, offered: QuerySet[ProviderService], data: Any = None) -> None:
        super().__init__(data)
        categories = sorted(set(offered.values_list("category", flat=True)))
        types = sorted(set(offered.values_list("type", flat=True)))
        category, type_ = self.fields["category"], self.fields["type"]
        assert isinstance(category, forms.ChoiceField) and isinstance(type_, forms.ChoiceField)
        category.choices = [("", _("All")), *((c, c or "—") for c in categories)]
        type_.choices = [("", _("All")), *((t, TYPE_LABELS.get(t, t)) for t in types)]

    def filtered(self, offered: QuerySet[ProviderService]) -> QuerySet[ProviderService]:
        if not self.is_valid():
            return offered
        if self.cleaned_data["category"]:
            offered = offered.filter(category=self.cleaned_data["category"])
        if self.cleaned_data["type"]:
            offered = offered.filter(type=self.cleaned_data["type"])
        return offered


class RuleForm(forms.Form):
    """A pricing rule (catalog/pricing.py) and, for new services, the category they go into."""

    rule = forms.ChoiceField(
        label=_("Pricing rule"),
        choices=[(PERCENT, _("Percent over cost")), (FIXED, _("Fixed amount over cost"))],
    )
    markup = forms.DecimalField(
        label=_("Markup"),
        min_value=Decimal(0),
        max_value=MAX_AMOUNT,
        decimal_places=6,
        help_text=_("Percent, or an amount in the panel's currency per 1000."),
    )
    step = forms.DecimalField(
        label=_("Round up to"),
        min_value=PLACES,
        max_value=Decimal(1000),
        decimal_places=6,
        help_text=_("Prices are rounded up to a multiple of this, e.g. 0.01."),
    )
    category = forms.ModelChoiceField(
        label=_("Import into"),
        queryset=Category.objects.order_by("sort_order", "name"),
        required=False,
        empty_label=_("The provider's own category"),
    )

    @classmethod
    def for_provider(cls, provider: Provider, data: QueryDict | None = None) -> "RuleForm":
        initial = {"rule": provider.price_rule, "markup": provider.price_markup, "step": provider.price_step}
        return cls(
            data, initial={k: normalised(v) if isinstance(v, Decimal) else v for k, v in initial.items()}
        )

    def price_rule(self) -> PriceRule:
        data = self.cleaned_data
        return PriceRule(data["rule"], data["markup"], data["step"])


def chosen_ids(data: QueryDict, name: str) -> list[int]:
    """The ids ticked under `name`; ValueError for anything that is not one."""
    values = data.getlist(name)
    if not all(v.isdigit() and len(v) < 12 for v in values):
        raise ValueError(_("The choice sent is not valid."))
    return sorted({int(v) for v in values})


def decisions(data: QueryDict) -> tuple[list[int], list[int]]:
    """The sync page's decisions, `decision-<line id>` = accept, skip or later: (accepted, skipped).
    ValueError for a field that is not one of those."""
    accept, skip = [], []
    for name, value in data.items():
        if not name.startswith("decision-"):
            continue
        line = name.removeprefix("decision-")
        if not line.isdigit() or len(line) > 11 or value not in (ACCEPT, SKIP, LATER):
            raise ValueError(_("The choice sent is not valid."))
        if value == ACCEPT:
            accept.append(int(line))
        elif value == SKIP:
            skip.append(int(line))
    return accept, skip


class CategoryChoice(forms.Form):
    """Where new services accepted on the sync page go."""

    category = RuleForm.base_fields["category"]
