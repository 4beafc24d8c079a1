"""Staff sign-in: a password (with the site's sign-in limits), then a second factor: a code from
the authenticator app (TOTP) or one of the single-use recovery codes. Both steps are audited.
A new member of staff starts from their setup link (`smmpanel staff create`): a password, then
the authenticator's setup. Django's admin sends its staff through the same second step."""

import time

from django import forms
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.forms import SetPasswordForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from smmpanel.accounts import audit, second_factor, staff
from smmpanel.accounts.models import User
from smmpanel.console.guard import SEEN
from smmpanel.throttle import LimitedAuthenticationForm, client_address, login_allowed, sign_in_status


def _next(request: HttpRequest, fallback: str = "console:dashboard") -> str:
    """Where to go after signing in: a console page, or Django's admin (whose sign-in hands its
    staff to the second step here); anything else is the dashboard."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    inside = target.startswith(("/console/", reverse("admin:index")))
    if inside and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


class StaffSignInForm(LimitedAuthenticationForm):
    error_messages = {
        **LimitedAuthenticationForm.error_messages,
        "not_staff": gettext_lazy("This account is not a member of the panel's staff."),
    }

    def confirm_login_allowed(self, user: User) -> None:
        super().confirm_login_allowed(user)
        if not audit.role_of(user):
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


def past_the_password_only(user: object) -> bool:
    """A member of staff signed in with their password, not yet past the second factor."""
    verified = getattr(user, "is_verified", lambda: False)()  # django_otp's middleware adds it
    return isinstance(user, User) and bool(audit.role_of(user)) and not verified


def login(request: HttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "GET" and past_the_password_only(user):
        assert isinstance(user, User)
        return redirect(f"{_after_password(user)}?next={_next(request)}")
    form = StaffSignInForm(request, data=request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            user = form.get_user()
            auth_login(request, user)
            audit.record(user, "sign_in.password", address=client_address(request))
            return redirect(f"{_after_password(user)}?next={_next(request)}")
        username = request.POST.get("username", "")[:150]
        audit.record(None, "sign_in.refused", address=client_address(request), actor_name=username)
    response = TemplateResponse(request, "console/login.html", {"form": form, "next": _next(request)})
    return sign_in_status(request, response)  # 429 over the limit: it reads the response's form


def _after_password(user: User) -> str:
    return reverse("console:verify" if user_has_device(user) else "console:setup")


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=16,
        help_text=gettext_lazy("The 6 digits your authenticator app shows, or one of your recovery codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
    )


def verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.is_authenticated or not audit.role_of(user):
        return redirect("console:login")
    assert isinstance(user, User)
    if not user_has_device(user):
        return redirect("console:setup")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not login_allowed(request, user.get_username()):  # every code tried counts against the limit
            form.add_error("code", _("Too many sign-in attempts. Wait a minute and try again."))
            return render(request, "console/verify.html", {"form": form, "next": _next(request)}, status=429)
        device = match_token(user, form.cleaned_data["code"].strip().replace(" ", ""))
        if device is not None:
            otp_login(request, device)
            request.session[SEEN] = time.time()
            kind = "recovery code" if device.persistent_id.startswith("otp_static") else "authenticator"
            audit.record(user, "sign_in.second_factor", address=client_address(request), note=kind)
            return redirect(_next(request))
        audit.record(user, "sign_in.wrong_code", address=client_address(request))
        form.add_error("code", _("That code is wrong or was already used."))
    return render(request, "console/verify.html", {"form": form, "next": _next(request)})


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record(request.user, "sign_out", address=client_address(request))
    auth_logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("console:login")


RECOVERY_CODES = 10


def setup(request: HttpRequest) -> HttpResponse:
    """First sign-in of a member of staff: scan a QR code (or type the key) into an authenticator
    app, confirm with a code, then see the single-use recovery codes, once."""
    user = request.user
    if not user.is_authenticated or not audit.role_of(user):
        return redirect("console:login")
    assert isinstance(user, User)
    if user_has_device(user):
        return redirect("console:verify")
    device = second_factor.pending_device(user)
    form = CodeForm(request.POST or None)
    form.fields["code"].help_text = _(
        "The 6 digits your authenticator app shows now."
    )  # no recovery codes yet
    status = 200
    if request.method == "POST" and form.is_valid():
        if not login_allowed(request, user.get_username()):
            form.add_error("code", _("Too many sign-in attempts. Wait a minute and try again."))
            status = 429
        elif not device.verify_is_allowed()[0]:  # django-otp slows down guessing after a wrong code
            form.add_error("code", _("Too many wrong codes in a row. Wait a few seconds and try again."))
        elif second_factor.confirm(device, form.cleaned_data["code"].strip().replace(" ", "")):
            codes = second_factor.new_recovery_codes(user, RECOVERY_CODES)
            otp_login(request, device)
            request.session[SEEN] = time.time()
            audit.record(user, "second_factor.set_up", address=client_address(request))
            return render(request, "console/recovery_codes.html", {"codes": codes, "next": _next(request)})
        else:
            form.add_error("code", _("That code is wrong. Check the time on your phone and try again."))
    context = {
        "form": form,
        "qr": second_factor.qr_data_uri(device),
        "key": second_factor.readable_key(device),
        "next": _next(request),
    }
    return render(request, "console/setup.html", context, status=status)


def welcome(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """A new member of staff's setup link: they choose a password (which ends the link), are
    signed in with it, and go on to set up their authenticator."""
    user = staff.user_of_link(uidb64, token)
    if user is None:
        return render(request, "console/welcome.html", {"valid": False}, status=404)
    if request.user.is_authenticated and request.user.pk != user.pk:
        auth_logout(request)  # whoever was signed in here, the link's person is at the keyboard now
    form = SetPasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            form.save(commit=False).save(update_fields=["password"])
            audit.record(user, "staff.password_set", address=client_address(request), note="setup link")
        auth_login(request, user)  # the password step, done; the second factor comes next
        return redirect(_after_password(user))
    return render(request, "console/welcome.html", {"valid": True, "form": form, "member": user})
