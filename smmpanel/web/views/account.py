"""Sign-up with email confirmation, sign-in (rate-limited), preferences and language."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.core import signing
from django.core.mail import send_mail
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from smmpanel.accounts.models import User
from smmpanel.throttle import sign_in_status
from smmpanel.web.forms.account import LoginForm, PreferencesForm, ResendForm, SignupForm
from smmpanel.web.limits import mail_refused
from smmpanel.web.middleware import LANGUAGE_CODES

CONFIRM_SALT = "smmpanel.signup.confirm"
CONFIRM_MAX_AGE = 3 * 24 * 3600


def confirmation_token(user: User) -> str:
    # Bound to the address: a link sent to an old address stops working if it changes.
    return signing.dumps({"user": user.pk, "email": user.email}, salt=CONFIRM_SALT)


def send_confirmation(request: HttpRequest, user: User) -> None:
    link = request.build_absolute_uri(reverse("signup_confirm", args=[confirmation_token(user)]))
    context = {"user": user, "link": link, "days": CONFIRM_MAX_AGE // 86400}
    send_mail(
        render_to_string("web/account/email/confirm_subject.txt", context).strip(),
        render_to_string("web/account/email/confirm.txt", context),
        None,
        [user.email],
    )


def send_signup_notice(request: HttpRequest, owner: User) -> None:
    """Someone signed up with the address of an existing account: its owner is told, with the way in."""
    context = {
        "user": owner,
        "login": request.build_absolute_uri(reverse("login")),
        "reset": request.build_absolute_uri(reverse("password_reset")),
    }
    with translation.override(owner.language or translation.get_language()):
        send_mail(
            render_to_string("web/account/email/signup_known_subject.txt", context).strip(),
            render_to_string("web/account/email/signup_known.txt", context),
            None,
            [owner.email],
        )


def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if (refused := mail_refused(request)) is not None:
            return refused
        # Hashes the password whichever way it goes: a known address takes as long as a new one.
        user = form.save(commit=False)
        owners = list(User.objects.filter(email__iexact=user.email))
        for owner in owners:
            send_signup_notice(request, owner)
        if not owners:
            user.email_confirmed = False
            user.language = translation.get_language() if translation.get_language() in LANGUAGE_CODES else ""
            user.save(force_insert=True)  # a new account: an insert, never a write over another row
            send_confirmation(request, user)
        # The same answer whether or not the address has an account: it reveals no accounts.
        return redirect("signup_sent")
    return render(request, "web/account/signup.html", {"form": form, "nav": "signup"})


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "web/account/signup_sent.html")


def confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
        user = User.objects.get(pk=data["user"], email=data["email"])
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError):
        return render(request, "web/account/confirm_failed.html", status=400)
    if not user.email_confirmed:
        User.objects.filter(pk=user.pk).update(email_confirmed=True)
    messages.success(request, _("Your email address is confirmed. You can log in now."))
    return redirect("login")


def resend(request: HttpRequest) -> HttpResponse:
    form = ResendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if (refused := mail_refused(request)) is not None:
            return refused
        for user in User.objects.filter(email__iexact=form.cleaned_data["email"], email_confirmed=False):
            send_confirmation(request, user)
        # The same answer whether or not the address is known: it reveals no accounts.
        return redirect("signup_sent")
    return render(request, "web/account/resend.html", {"form": form})


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/account/password_reset.html"
    email_template_name = "web/account/email/password_reset.txt"
    subject_template_name = "web/account/email/password_reset_subject.txt"

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        if (refused := mail_refused(self.request)) is not None:
            return refused
        return super().form_valid(form)


password_reset = PasswordResetView.as_view()


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "web/account/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return sign_in_status(request, super().post(request, *args, **kwargs))

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        language = getattr(form.get_user(), "language", "")
        if language in LANGUAGE_CODES:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
        return response


login = LoginView.as_view()


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save(commit=False)
        user.save(update_fields=PreferencesForm.Meta.fields)
        if user.language:
            translation.activate(user.language)
        messages.success(request, _("Your preferences are saved."))
        response = redirect("settings")
        if user.language:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax")
        return response
    return render(request, "web/account/settings.html", {"form": form, "nav": "settings"})


@require_POST
def set_language(request: HttpRequest) -> HttpResponseBase:
    """Django's language switch, which also remembers the choice for a signed-in customer."""
    language = request.POST.get("language", "")
    if language in LANGUAGE_CODES and request.user.is_authenticated:
        User.objects.filter(pk=request.user.pk).update(language=language)
    return django_set_language(request)
