"""The reports' period: from and to (both included), or a preset, as days of the panel's time zone."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

LONGEST_DAYS = 366
DEFAULT_PRESET = "30d"
PRESETS: dict[str, Any] = {
    "today": _("Today"),
    "7d": _("7 days"),
    "30d": _("30 days"),
    "month": _("This month"),
    "last-month": _("Last month"),
}


def today() -> date:
    return timezone.localdate(timezone=timezone.get_default_timezone())


def preset_days(preset: str, day: date) -> tuple[date, date]:
    """The first and last day of `preset` (see PRESETS) when today is `day`."""
    if preset == "today":
        return day, day
    if preset in ("7d", "30d"):
        return day - timedelta(days=int(preset[:-1]) - 1), day
    if preset == "month":
        return day.replace(day=1), day
    if preset == "last-month":
        last = day.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ValueError(f"no preset {preset!r}")


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The first instant of `first` and of the day after `last`, in the panel's time zone."""
    zone = timezone.get_default_timezone()
    return datetime.combine(first, time.min, zone), datetime.combine(last + timedelta(days=1), time.min, zone)


class PeriodForm(forms.Form):
    preset = forms.ChoiceField(
        label=_("Period"),
        choices=[("", "—"), *PRESETS.items()],
        required=False,
        error_messages={"invalid_choice": _("There is no such period: choose one of those below.")},
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        preset, since, until = data.get("preset"), data.get("since"), data.get("until")
        if preset or not (since or until):
            since, until = preset_days(preset or DEFAULT_PRESET, today())
        since, until = since or until, until or since
        assert since is not None and until is not None
        if since > until:
            raise forms.ValidationError(_("The period must not end before it starts."), code="order")
        if (until - since).days >= LONGEST_DAYS:
            raise forms.ValidationError(
                _("A report covers at most %(days)s days.") % {"days": LONGEST_DAYS}, code="long"
            )
        data.update(since=since, until=until)
        return data

    def days(self) -> tuple[date, date]:
        """The period asked for: valid, or the default one (this after a 400)."""
        if self.is_valid():
            return self.cleaned_data["since"], self.cleaned_data["until"]
        return preset_days(DEFAULT_PRESET, today())
