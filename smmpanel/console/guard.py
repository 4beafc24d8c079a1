"""The one door to every console page: signed in, a member of staff with a role, past the second
factor, not idle too long, and holding the page's capability (console/roles.py). Anything else is
sent to sign in, to the second-factor step, or refused with a 403 that changes nothing."""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from smmpanel.accounts.audit import role_of
from smmpanel.console.roles import CAPABILITIES, allows

View = Callable[..., HttpResponseBase]
SEEN = "console_seen"  # the session's last console request, in seconds since the epoch


def to_sign_in(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('console:login')}?{urlencode({'next': request.get_full_path()})}")


def idle_too_long(request: HttpRequest, now: float) -> bool:
    seen = request.session.get(SEEN)
    return isinstance(seen, int | float) and now - seen > settings.SMMPANEL_STAFF_IDLE_MINUTES * 60


def refused(request: HttpRequest, role: str, why: str = "") -> HttpResponse:
    context = {"role": role, "why": why or _("Your role does not allow this page or action.")}
    return render(request, "console/refused.html", context, status=403)


def staff_view(capability: str) -> Callable[[View], View]:
    """Guard a console view; the view finds the role in `request.console_role`."""
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown console capability {capability!r}")

    def wrap(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            user = request.user
            if not user.is_authenticated:
                return to_sign_in(request)
            role = role_of(user)
            if not role:
                return refused(request, "", _("The console is for the panel's staff."))
            if not user.is_verified():  # type: ignore[attr-defined]  # django_otp's middleware adds it
                return redirect(f"{reverse('console:verify')}?{urlencode({'next': request.get_full_path()})}")
            now = time.time()
            if idle_too_long(request, now):
                logout(request)
                messages.info(request, _("You were signed out after a while without activity."))
                return to_sign_in(request)
            request.session[SEEN] = now
            if not allows(role, capability):
                return refused(request, role)
            request.console_role = role  # type: ignore[attr-defined]
            return view(request, *args, **kwargs)

        return guarded

    return wrap


def can(request: HttpRequest, capability: str) -> bool:
    """For a guarded view: whether this member of staff also holds `capability`."""
    return allows(getattr(request, "console_role", ""), capability)
