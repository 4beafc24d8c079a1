"""The order forms: one order, and a mass order.

Validation is `drafting.draft`, the API's own; these forms only collect the
parameters (named as in the API) and put its errors next to the right field.
"""

import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from smmpanel.catalog.offers import Offer
from smmpanel.catalog.types import ServiceType
from smmpanel.orders import drafting, mass
from smmpanel.orders.drafting import COUNTED_LIST, DRIPFEED_FIELDS, FIELDS, PlacementError
from smmpanel.web import errors

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as Lazy
else:
    from django.utils.functional import Promise as Lazy

T = ServiceType


# --- One order ----------------------------------------------------------------


def _text(label: Lazy, help_text: Lazy | str = "", **attrs: str) -> forms.CharField:
    widget = forms.TextInput(attrs={"autocomplete": "off", **attrs})
    return forms.CharField(label=label, help_text=help_text, required=False, strip=False, widget=widget)


def _count(label: Lazy, help_text: Lazy | str = "") -> forms.CharField:
    return _text(label, help_text, inputmode="numeric")


def _lines(label: Lazy, help_text: Lazy) -> forms.CharField:
    widget = forms.Textarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"})
    return forms.CharField(label=label, help_text=help_text, required=False, strip=False, widget=widget)


def _delay_choices() -> list[tuple[str, Lazy | str]]:
    choices: list[tuple[str, Lazy | str]] = [("0", _("No delay"))]
    for minutes in sorted(drafting.SUBSCRIPTION_DELAYS - {0}):
        label = ngettext_lazy("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
        choices.append((str(minutes), label))
    return choices


# What `username` means for each type that asks for one.
USERNAME_LABELS: dict[str, tuple[Lazy, Lazy | str]] = {
    T.MENTIONS_USER_FOLLOWERS: (_("Username"), _("The profile whose followers are mentioned.")),
    T.COMMENT_LIKES: (_("Username"), _("The owner of the comment.")),
    T.COMMENT_REPLIES: (_("Username"), _("The owner of the comment to reply to.")),
    T.SUBSCRIPTIONS: (_("Username"), _("The profile whose new posts are served.")),
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class OrderForm(forms.Form):
    """One order of one service. Every field is optional here: `drafting.draft` decides."""

    link = _text(_("Link"), _("The post or profile to deliver to."), inputmode="url", placeholder="https://")
    quantity = _count(_("Quantity"))
    comments = _lines(_("Comments"), _("One comment a line."))
    usernames = _lines(_("Usernames"), _("One username a line."))
    hashtags = _lines(_("Hashtags"), _("One hashtag a line."))
    hashtag = _text(_("Hashtag"))
    username = _text(_("Username"))
    answer_number = _count(_("Answer number"), _("The poll answer to vote for: 1 is the first."))
    groups = _lines(_("Groups"), _("One group a line."))
    keywords = _lines(_("Keywords"), _("One keyword a line."))
    min = _count(_("Minimum per post"))
    max = _count(_("Maximum per post"))
    posts = _count(_("New posts"), _("How many new posts to serve; empty for all of them."))
    old_posts = _count(_("Existing posts"), _("How many of the latest posts to serve too; empty for none."))
    delay = forms.CharField(
        label=_("Delay"),
        help_text=_("How long after a post is published to start."),
        required=False,
        widget=forms.Select,
    )
    expiry = forms.CharField(
        label=_("Ends on"),
        help_text=_("Empty: no end date."),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    dripfeed = forms.BooleanField(label=_("Drip-feed: deliver in several runs"), required=False)
    runs = _count(_("Runs"), _("How many times to deliver the quantity: 2 or more."))
    interval = _count(_("Interval in minutes"), _("The time between two runs."))
    form_token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, offer: Offer, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(data)
        self.offer = offer
        self.draft: drafting.Draft | None = None
        self.shown = FIELDS[offer.type]
        # Runs and interval are always read for the Default type, so a request for
        # drip-feed on a service without it is refused, not silently placed whole.
        self.read = self.shown + (("dripfeed",) + DRIPFEED_FIELDS if offer.type == T.DEFAULT else ())
        if offer.offers_dripfeed:
            self.shown += ("dripfeed",) + DRIPFEED_FIELDS
        for name in list(self.fields):
            if name not in self.read and name != "form_token":
                del self.fields[name]
        self._describe(offer)

    def _describe(self, offer: Offer) -> None:
        bounds = _("Between %(min)s and %(max)s.") % {"min": offer.min, "max": offer.max}
        if "quantity" in self.fields:
            self.fields["quantity"].help_text = bounds
        if offer.type in COUNTED_LIST:
            name = COUNTED_LIST[offer.type]
            lines = _("Between %(min)s and %(max)s lines.") % {"min": offer.min, "max": offer.max}
            self.fields[name].help_text = f"{self.fields[name].help_text} {lines}"
        if offer.subscription:
            self.fields["min"].help_text = self.fields["max"].help_text = bounds
            delay = self.fields["delay"].widget
            assert isinstance(delay, forms.Select)
            delay.choices = _delay_choices()  # now: in the customer's language
        if "username" in self.fields and offer.type in USERNAME_LABELS:
            label, help_text = USERNAME_LABELS[offer.type]
            self.fields["username"].label, self.fields["username"].help_text = label, help_text

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.shown if name not in ("dripfeed",) + DRIPFEED_FIELDS]

    @property
    def dripfeed_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in DRIPFEED_FIELDS if name in self.shown]

    @cached_property
    def token(self) -> str:
        """The form's idempotency token: the one it was sent with, or a new one."""
        sent = self.data.get("form_token", "") if self.is_bound else ""
        return str(sent) if valid_token(str(sent)) else str(uuid.uuid4())

    def params(self) -> dict[str, str]:
        """The API parameters of this order, from the fields its type reads."""
        values = {name: str(self.data.get(name, "")) for name in self.read if name != "dripfeed"}
        if "expiry" in values:
            values["expiry"] = api_date(values["expiry"])
        if "dripfeed" in self.read and not self.data.get("dripfeed"):
            for name in DRIPFEED_FIELDS:
                values.pop(name, None)
        return values

    def field_for(self, error: PlacementError) -> str | None:
        """The field an error belongs next to; None for the form as a whole."""
        E = PlacementError
        name: str | None = None
        if error.code in (E.MISSING, E.BAD_PARAMETER):
            name = str(error.value)
        elif error.code == E.BAD_LINK:
            name = "link"
        elif error.code in (E.BELOW_MIN, E.ABOVE_MAX, E.BAD_QUANTITY):
            name = COUNTED_LIST.get(self.offer.type, "quantity")
        elif error.code == E.NO_DRIPFEED:
            name = "dripfeed"
        elif error.code == E.BAD_RUNS:
            name = "runs"
        return name if name in self.shown else None

    def reject(self, error: PlacementError) -> None:
        self.add_error(self.field_for(error), errors.placement_message(error))

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if not valid_token(str(self.data.get("form_token", ""))):
            self.add_error(None, errors.FORM_EXPIRED)
        try:
            ticked = bool(self.data.get("dripfeed"))
            self.draft = drafting.draft_ticked(self.offer, self.params(), dripfeed=ticked)
        except PlacementError as error:
            self.reject(error)
        return cleaned


# Declared here, not in the class body: a field named `media` would hide Form.media there.
OrderForm.base_fields["media"] = _text(
    _("Media link"), _("The post whose likers are mentioned."), inputmode="url"
)


def api_date(value: str) -> str:
    """A date input's 2026-12-31 as the API's 31/12/2026; anything else as typed."""
    value = value.strip()
    if _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    return value


def valid_token(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def expiry_shown(params: Mapping[str, object]) -> date | None:
    """A subscription's stored expiry (ISO) as a date, for the detail page."""
    raw = params.get("expiry")
    try:
        return datetime.strptime(str(raw), "%Y-%m-%d").date() if raw else None
    except ValueError:
        return None


# --- A mass order ---------------------------------------------------------------


def mass_format(service_type: str) -> str:
    """How a line of this type reads, e.g. "ID|link|quantity|usernames"."""
    names = [errors.field_label(name) for name in mass.FIELDS[service_type]]
    return "|".join([str(_("ID")), *names])


class MassOrderForm(forms.Form):
    orders = forms.CharField(
        label=_("Orders"),
        help_text=_("One order a line, written as its service's line below."),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "autocomplete": "off"}),
        error_messages={"required": errors.MASS_EMPTY},
    )
    form_token = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_orders(self) -> list[mass.Line]:
        lines = mass.lines(self.cleaned_data["orders"])
        if not lines:
            raise forms.ValidationError(errors.MASS_EMPTY)
        if len(lines) > mass.MAX_LINES:
            raise forms.ValidationError(errors.MASS_TOO_MANY % {"limit": mass.MAX_LINES, "count": len(lines)})
        return lines

    def clean_form_token(self) -> str:
        token = str(self.cleaned_data.get("form_token", ""))
        if not valid_token(token):
            raise forms.ValidationError(errors.FORM_EXPIRED)
        return token

    @cached_property
    def token(self) -> str:
        sent = str(self.data.get("form_token", "")) if self.is_bound else ""
        return sent if valid_token(sent) else str(uuid.uuid4())
