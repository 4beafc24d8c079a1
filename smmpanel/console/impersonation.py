"""Signing in as a customer, for support: the member of staff stays signed in as themselves, and
their session holds whom they look at (`KEY`). On the customer's site, and only there, the
middleware below shows the pages as that customer, read-only: every unsafe request is refused
with a page that says why. On the console (and the admin) they remain themselves.

It holds only while the session does and while the member of staff still may (a role with
`customer_access`, past the second factor, not idle): otherwise it ends on the next request.
Signing out ends the session, and with it the impersonation."""

import time
from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from smmpanel.accounts import audit
from smmpanel.accounts.models import User
from smmpanel.accounts.services import customers
from smmpanel.console.guard import SEEN, idle_too_long
from smmpanel.console.roles import allows

KEY = "console_impersonating"  # {"staff": their id, "customer": the customer's id}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def start(request: HttpRequest, customer: User) -> None:
    request.session[KEY] = {"staff": request.user.pk, "customer": customer.pk}


def end(request: HttpRequest) -> int | None:
    """Stop looking as a customer; the customer's id, or None if there was none."""
    held = request.session.pop(KEY, None)
    return held.get("customer") if isinstance(held, dict) else None


def _staff_side(request: HttpRequest) -> bool:
    """The console, the admin, and the language switch (which then changes the language of the
    member of staff, never the customer's) stay with the member of staff."""
    path = request.path_info
    return path.startswith(("/console/", "/admin/")) or path == reverse("set_language")


def _may_go_on(request: HttpRequest, held: object) -> bool:
    user = request.user
    return (
        isinstance(held, dict)
        and user.is_authenticated
        and user.pk == held.get("staff")
        and allows(audit.role_of(user), "customer_access")
        and user.is_verified()  # type: ignore[attr-defined]  # django_otp's middleware adds it
    )


def _customer(request: HttpRequest) -> User | None:
    """The customer the staff member of this request looks at, or None (ending it if it may not
    go on)."""
    held = request.session.get(KEY)
    if held is None:
        return None
    now = time.time()
    if _may_go_on(request, held) and idle_too_long(request, now):
        logout(request)  # as the console's door does: the whole staff session ends
        return None
    customer = customers().filter(pk=held.get("customer")).first() if _may_go_on(request, held) else None
    if customer is None:
        end(request)
        return None
    request.session[SEEN] = now
    return customer


class Impersonation:
    """After authentication: on the customer's site, the customer looked at is request.user, the
    member of staff is request.impersonator, and only safe methods pass."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if KEY in request.session and not _staff_side(request):
            customer = _customer(request)
            if customer is not None:
                request.impersonator = request.user  # type: ignore[attr-defined]
                request.user = customer
                if request.method not in SAFE_METHODS:
                    return render(request, "console/impersonation_refused.html", status=403)
        return self.get_response(request)
