"""The console's order forms: the orders list's filters (GET parameters) and the words the console
uses for an order's kind, source and provider state (the models' choices are the API's English)."""

from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from django import forms
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.catalog.models import Provider, Service
from smmpanel.orders.listing import OrderQuery
from smmpanel.orders.models import STATUS_LABELS, Order

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as Lazy
else:
    from django.utils.functional import Promise as Lazy

P = Order.ProviderState
PROVIDER_STATE_LABELS: dict[str, Promise] = {
    P.QUEUED: _("Queued"),
    P.SENDING: _("Sending"),
    P.SENT: _("Sent"),
    P.UNKNOWN: _("In doubt"),
    P.FAILED: _("Refused"),
}
KIND_LABELS: dict[str, Promise] = {
    Order.Kind.SINGLE: _("Order"),
    Order.Kind.DRIPFEED: _("Drip-feed"),
    Order.Kind.RUN: _("Drip-feed run"),
    Order.Kind.SUBSCRIPTION: _("Subscription"),
    Order.Kind.POST: _("Subscription post"),
}
SOURCE_LABELS: dict[str, Promise] = {Order.Source.WEB: _("Website"), Order.Source.API: _("API")}


def _choices(labels: dict[str, Promise]) -> list[tuple[str, Promise | str]]:
    return [("", "—"), *labels.items()]


def _date(label: Lazy) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


class ServiceChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Service) -> str:
        return f"#{obj.pk} {obj.name}"


class OrderFilter(forms.Form):
    """The orders list's filters and search, as GET parameters (a bookmark keeps them)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=500)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_choices(dict(STATUS_LABELS)))
    provider_state = forms.ChoiceField(
        label=_("Provider state"), required=False, choices=_choices(PROVIDER_STATE_LABELS)
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_choices(KIND_LABELS))
    source = forms.ChoiceField(label=_("Source"), required=False, choices=_choices(SOURCE_LABELS))
    service = ServiceChoice(
        label=_("Service"), required=False, queryset=Service.objects.order_by("id"), empty_label="—"
    )
    provider = forms.ModelChoiceField(
        label=_("Provider"), required=False, queryset=Provider.objects.order_by("name"), empty_label="—"
    )
    customer = forms.CharField(label=_("Customer"), required=False, max_length=150)
    since = _date(_("From"))
    until = _date(_("To"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["q"].widget.attrs.update(
            {"type": "search", "placeholder": _("Order id, link, provider's order id or username")}
        )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError(_("The end of the date range is before its start."))
        return data

    def query(self) -> OrderQuery | None:
        """The filters as orders.listing reads them; None when the form has errors."""
        if not self.is_valid():
            return None
        data = self.cleaned_data
        zone = timezone.get_current_timezone()
        service, provider = data["service"], data["provider"]
        return OrderQuery(
            status=data["status"],
            provider_state=data["provider_state"],
            kind=data["kind"],
            source=data["source"],
            service_id=service.pk if service else None,
            provider_id=provider.pk if provider else None,
            customer=data["customer"],
            since=datetime.combine(data["since"], time.min, zone) if data["since"] else None,
            until=(
                datetime.combine(data["until"] + timedelta(days=1), time.min, zone) if data["until"] else None
            ),
            search=data["q"],
        )

    def filtering(self) -> bool:
        """Whether any filter or search is set (the empty list then says "no order matches")."""
        return self.is_bound and any(self.data.get(name) for name in self.fields)
