"""The operator console's admin site: Django's, with the website's sign-in limits on its sign-in."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpRequest, HttpResponse

from smmpanel.throttle import LimitedAuthenticationForm, sign_in_status


class AdminLoginForm(LimitedAuthenticationForm, AdminAuthenticationForm):
    """Staff only (AdminAuthenticationForm), counted against the same limits as the site's sign-in."""


class OperatorAdminSite(admin.AdminSite):
    site_header = "smmpanel operator console"
    site_title = "smmpanel"
    login_form = AdminLoginForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return sign_in_status(request, super().login(request, extra_context))
