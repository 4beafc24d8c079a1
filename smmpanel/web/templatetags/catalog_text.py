"""A service as the reader sees it on the website: its name and description in the reader's
language (`{{ offer|shown_name }}`) and its average delivery time in words (`|duration`)."""

from typing import Protocol

from django import template
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


class Named(Protocol):
    def name_in(self, language: str) -> str: ...

    def description_in(self, language: str) -> str: ...


def _language() -> str:
    return (get_language() or "").split("-")[0]


@register.filter
def shown_name(service: Named) -> str:
    """The name in the reader's language (the default name where it has none)."""
    return service.name_in(_language())


@register.filter
def shown_description(service: Named) -> str:
    return service.description_in(_language())


def duration(minutes: int | None) -> str:
    """An average time in words: "≈ 45 min", "≈ 2 h 30 min", "≈ 3 d 4 h"; "" where unknown."""
    if minutes is None:
        return ""
    days, rest = divmod(int(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        words = (
            _("%(days)s d %(hours)s h") % {"days": days, "hours": hours}
            if hours
            else _("%(days)s d") % {"days": days}
        )
    elif hours:
        words = (
            _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": mins}
            if mins
            else _("%(hours)s h") % {"hours": hours}
        )
    else:
        words = _("%(minutes)s min") % {"minutes": mins}
    return f"≈ {words}"


register.filter("duration", duration)
