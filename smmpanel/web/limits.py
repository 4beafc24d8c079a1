"""The website's limits on requests that guess or that send mail: sign-in attempts (the site's and
the operator console's) and mail sent on request, counted per client address and per username or
recipient in the panel's shared throttle (smmpanel/throttle.py)."""

import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import NON_FIELD_ERRORS
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from smmpanel.throttle import allow_all, per_minute

log = logging.getLogger("smmpanel.web")

TOO_MANY_SIGN_INS = "too_many_sign_ins"


def client_address(request: HttpRequest) -> str:
    """The customer's address; behind N trusted proxies, the one the outermost proxy saw."""
    proxies = settings.SMMPANEL_TRUSTED_PROXIES
    if proxies > 0:
        header = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        hops = [hop.strip() for hop in header.split(",") if hop.strip()]
        # Each proxy appends the address it received from: the last N entries are the proxies' own
        # findings, anything before them the client could have written itself.
        if len(hops) >= proxies:
            return hops[-proxies]
    return str(request.META.get("REMOTE_ADDR", ""))


def login_allowed(request: HttpRequest) -> bool:
    """One more sign-in attempt from this address, and from it for this username, or refuse.

    Nothing is counted per username alone: failures from one address must not lock the owner
    out at another. The (address, username) limit is the tighter one, so a router shared by
    many customers is not closed by one of them mistyping."""
    address = client_address(request)
    username = request.POST.get("username", "").strip().lower()[:150]
    per_address = per_minute(settings.SMMPANEL_LOGIN_PER_MINUTE, settings.SMMPANEL_LOGIN_BURST)
    per_user = per_minute(settings.SMMPANEL_LOGIN_USER_PER_MINUTE, settings.SMMPANEL_LOGIN_USER_BURST)
    return allow_all(
        (per_address, f"login:address:{address}"),
        # An address never contains a comma (X-Forwarded-For is split on it): the key is unambiguous.
        (per_user, f"login:address-user:{address},{username}"),
    )


class LimitedAuthenticationForm(AuthenticationForm):
    """Counts the attempt before the password is checked, and refuses it over the limit. The site's
    and the console's sign-in forms both derive from it, so one limit covers every sign-in."""

    def clean(self) -> dict[str, Any]:
        if self.request is None or not login_allowed(self.request):
            raise forms.ValidationError(
                _("Too many sign-in attempts. Wait a minute and try again."), code=TOO_MANY_SIGN_INS
            )
        return super().clean()


def sign_in_status(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """429 for a sign-in page whose form the limit refused (clients and monitoring see it)."""
    context = getattr(response, "context_data", None) or {}
    form = context.get("form")
    if isinstance(form, LimitedAuthenticationForm) and form.has_error(NON_FIELD_ERRORS, TOO_MANY_SIGN_INS):
        log.warning("sign-in attempts limited for %s at %s", client_address(request), request.path)
        response.status_code = 429
    return response


def mail_allowed(request: HttpRequest) -> bool:
    """One more mail (sign-up, a new link, a password reset) from this address and to this email
    address, or refuse: nobody may flood an inbox through the panel. Forms with mistakes send
    nothing and are not counted."""
    store = per_minute(settings.SMMPANEL_MAIL_PER_MINUTE, settings.SMMPANEL_MAIL_BURST)
    email = request.POST.get("email", "").strip().lower()[:254]
    return allow_all((store, f"mail:address:{client_address(request)}"), (store, f"mail:to:{email}"))


def mail_refused(request: HttpRequest) -> HttpResponse | None:
    """None when one more mail may go (mail_allowed); else the 429 page that asks to wait."""
    if mail_allowed(request):
        return None
    log.warning("mail-sending forms limited for %s", client_address(request))
    return render(request, "web/account/throttled.html", status=429)
