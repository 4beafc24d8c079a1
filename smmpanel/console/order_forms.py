"""The console's order forms: the orders list's filters (GET parameters), each order action's values
(as orders.operator takes them) and the bulk form, and the words the console uses for an order's
kind, source and provider state (the models' choices are the API's English)."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from smmpanel.catalog.models import Provider, Service
from smmpanel.orders import operator
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
    P.FAILED: pgettext_lazy("an order's provider state", "Refused"),  # one order: not the plural
}
KIND_LABELS: dict[str, Promise] = {
    Order.Kind.SINGLE: _("Single order"),
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


class OrderFilter(forms.Form):
    """The orders list's filters and search, as GET parameters (a bookmark keeps them)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=500)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=_choices(dict(STATUS_LABELS)))
    provider_state = forms.ChoiceField(
        label=_("Provider state"), required=False, choices=_choices(PROVIDER_STATE_LABELS)
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=_choices(KIND_LABELS))
    source = forms.ChoiceField(label=_("Source"), required=False, choices=_choices(SOURCE_LABELS))
    # By id: a catalogue of thousands of imported services would make a select of thousands.
    service = forms.ModelChoiceField(
        label=_("Service id"),
        required=False,
        queryset=Service.objects.all(),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
        error_messages={"invalid_choice": _("There is no service with that id.")},
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


# --- The order actions (orders.operator): their names, their values, what the page offers ---------

LABELS: dict[str, Promise] = {
    "resend": _("Resend"),
    "change_provider": _("Change provider"),
    "edit_link": _("Edit link"),
    "set_start_count": _("Set start count"),
    "set_remains": _("Set remains"),
    "mark_completed": _("Mark completed"),
    "mark_partial": _("Mark partial"),
    "cancel_and_refund": _("Cancel and refund"),
    "resolve_has_it": _("The provider has it"),
    "resolve_never_got_it": _("Never got it: send again"),
    "resolve_cancel": _("Never got it: cancel and refund"),
}
DONE: dict[str, Promise] = {
    "resend": _("Order #%(order)s is queued to be sent again."),
    "change_provider": _("Order #%(order)s now goes to %(provider)s."),
    "edit_link": _("The link of order #%(order)s is corrected."),
    "set_start_count": _("The start count of order #%(order)s is set."),
    "set_remains": _("The remains of order #%(order)s are set."),
    "mark_completed": _("Order #%(order)s is completed."),
    "mark_partial": _("Order #%(order)s is partially delivered."),
    "cancel_and_refund": _("Order #%(order)s is canceled."),
    "resolve_has_it": _("Order #%(order)s is sent: the panel follows it with its provider."),
    "resolve_never_got_it": _("Order #%(order)s is queued to be sent again."),
    "resolve_cancel": _("Order #%(order)s is canceled."),
}
DANGER = ("cancel_and_refund", "resolve_cancel")
# What the list's bulk form offers: the actions that need no value of their own per order.
BULK = (
    "resend",
    "change_provider",
    "mark_completed",
    "cancel_and_refund",
    "resolve_never_got_it",
    "resolve_cancel",
)


# --- Forms: each action's values, as orders.operator takes them -------------------------------


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note (kept in the history)"), required=False, max_length=500)

    def inputs(self) -> dict[str, Any]:
        return {}


class ProviderForm(NoteForm):
    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Provider.objects.filter(enabled=True).order_by("name")
    )

    def inputs(self) -> dict[str, Any]:
        return {"provider_id": self.cleaned_data["provider"].pk}


class LinkForm(NoteForm):
    link = forms.CharField(label=_("Link"), max_length=2000)

    def inputs(self) -> dict[str, Any]:
        return {"link": self.cleaned_data["link"]}


class StartCountForm(NoteForm):
    n = forms.IntegerField(label=_("Start count"), min_value=0, max_value=10**15)

    def inputs(self) -> dict[str, Any]:
        return {"n": self.cleaned_data["n"]}


class RemainsForm(StartCountForm):
    n = forms.IntegerField(label=_("Remains"), min_value=0, max_value=10**15)


class PartialForm(NoteForm):
    remains = forms.IntegerField(label=_("Remains"), min_value=1, max_value=10**15)

    def inputs(self) -> dict[str, Any]:
        return {"remains": self.cleaned_data["remains"]}


class HasItForm(NoteForm):
    provider_order_id = forms.CharField(label=_("Provider's order id"), max_length=100)

    def inputs(self) -> dict[str, Any]:
        return {"provider_order_id": self.cleaned_data["provider_order_id"]}


FORMS: dict[str, type[NoteForm]] = {
    "resend": NoteForm,
    "change_provider": ProviderForm,
    "edit_link": LinkForm,
    "set_start_count": StartCountForm,
    "set_remains": RemainsForm,
    "mark_completed": NoteForm,
    "mark_partial": PartialForm,
    "cancel_and_refund": NoteForm,
    "resolve_has_it": HasItForm,
    "resolve_never_got_it": NoteForm,
    "resolve_cancel": NoteForm,
}
assert set(FORMS) == set(operator.ACTIONS) == set(LABELS) == set(DONE)


def offered(order: Order) -> list[str]:
    """The actions the order page shows for where the order stands. Only which forms to show:
    orders.operator decides, and explains a refusal (the table in its docstring)."""
    if order.status not in Order.UNFINISHED:
        return [] if order.kind in operator.PARENTS else ["set_start_count"]
    if order.kind in operator.PARENTS:
        dripfeed_to_come = order.kind == Order.Kind.DRIPFEED and order.provider_state == P.QUEUED
        return ["cancel_and_refund"] if dripfeed_to_come else []
    by_state = {
        P.QUEUED: ["change_provider", "edit_link", "cancel_and_refund"],
        P.FAILED: ["resend", "change_provider", "edit_link", "cancel_and_refund"],
        P.UNKNOWN: ["resolve_has_it", "resolve_never_got_it", "resolve_cancel"],
        P.SENT: ["mark_completed", "mark_partial", "set_remains", "cancel_and_refund"],
        P.SENDING: [],
    }
    return [*by_state.get(P(order.provider_state), []), "set_start_count"]


@dataclass
class Offered:
    name: str
    label: str
    form: NoteForm
    danger: bool


def offered_forms(order: Order) -> list[Offered]:
    """The order page's action forms, with the values the order has now where it has one."""
    initial = {"link": order.link, "n": order.start_count, "remains": order.remains or None}
    found = []
    for name in offered(order):
        values = dict(initial, n=order.remains) if name == "set_remains" else initial
        form = FORMS[name](initial=values, prefix=name)
        found.append(Offered(name, str(LABELS[name]), form, name in DANGER))
    return found


class BulkForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), choices=[(name, LABELS[name]) for name in BULK])
    provider = forms.ModelChoiceField(
        label=_("Provider"),
        queryset=Provider.objects.filter(enabled=True).order_by("name"),
        required=False,
        empty_label="—",
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
    orders = forms.TypedMultipleChoiceField(coerce=int)

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        picked = data.getlist("orders") if data is not None else []
        self.fields["orders"].choices = [(value, value) for value in picked]  # type: ignore[attr-defined]

    def clean_orders(self) -> list[int]:
        ids = self.cleaned_data["orders"]
        if len(set(ids)) > operator.MAX_BULK:
            raise forms.ValidationError(
                _("At most %(most)s orders at a time: choose fewer.") % {"most": operator.MAX_BULK}
            )
        return list(ids)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "change_provider" and not data.get("provider"):
            self.add_error("provider", _("Choose the provider the orders go to."))
        return data

    def inputs(self) -> dict[str, Any]:
        if self.cleaned_data["action"] == "change_provider":
            return {"provider_id": self.cleaned_data["provider"].pk}
        return {}
