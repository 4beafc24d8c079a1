"""Django's admin, for superusers' raw data work: the website's sign-in limits on its password
form, then the console's second step (the admin opens only to a session past the second factor),
and the console's idle limit."""

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import user_has_device

from smmpanel.accounts import audit
from smmpanel.accounts.models import User
from smmpanel.console.guard import SEEN, idle_too_long
from smmpanel.throttle import LimitedAuthenticationForm, client_address, sign_in_status

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


class AdminLoginForm(LimitedAuthenticationForm, AdminAuthenticationForm):
    """Staff only (AdminAuthenticationForm), counted against the same limits as the site's sign-in,
    and only staff with a console role (a superuser has one): the second step is the console's."""

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not audit.role_of(user):
            message = _(
                "This account has no staff role: an administrator gives one with smmpanel staff role."
            )
            raise forms.ValidationError(message, code="no_role")


def _verified(request: HttpRequest) -> bool:
    return bool(getattr(request.user, "is_verified", lambda: False)())  # django_otp's middleware adds it


class OperatorAdminSite(admin.AdminSite):
    site_header = "smmpanel operator console"
    site_title = "smmpanel"
    login_form = AdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff past both sign-in steps only: a password alone opens nothing here."""
        return super().has_permission(request) and _verified(request)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user = request.user
        if request.method == "GET" and user.is_active and user.is_staff and not _verified(request):
            return self._second_step(request)  # signed in with a password, on to the code
        response = sign_in_status(request, super().login(request, extra_context))
        if request.method == "POST" and response.status_code == 302 and request.user.is_authenticated:
            audit.record(request.user, "sign_in.password", address=client_address(request), note="admin")
            return self._second_step(request)
        return response

    def _second_step(self, request: HttpRequest) -> HttpResponse:
        """The console's code step (or its authenticator setup), then back to the admin page asked for."""
        target = request.POST.get("next") or request.GET.get("next") or reverse("admin:index")
        step = "console:verify" if user_has_device(request.user) else "console:setup"
        return redirect(f"{reverse(step)}?{urlencode({'next': target})}")

    def admin_view(self, view: View, cacheable: bool = False) -> View:
        """Every admin page: signed out after SMMPANEL_STAFF_IDLE_MINUTES without a request, as in
        the console (whose pages keep the same clock)."""
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def timed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            now = time.time()
            if request.user.is_authenticated and idle_too_long(request, now):
                logout(request)
                messages.info(request, _("You were signed out after a while without activity."))
            response: HttpResponseBase = inner(request, *args, **kwargs)
            if self.has_permission(request):
                request.session[SEEN] = now
            return response

        return cast(View, timed)
