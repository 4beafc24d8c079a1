import functools
import zoneinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.utils.translation import gettext_lazy as _

from smmpanel.accounts.models import User
from smmpanel.throttle import LimitedAuthenticationForm


class SignupForm(auth_forms.UserCreationForm):  # type: ignore[type-arg]
    email = forms.EmailField(
        label=_("Email address"), max_length=254, help_text=_("We send a link to confirm it.")
    )

    class Meta:
        model = User
        fields = ("username", "email")

    # No check that the address is free: saying so would tell anyone who has an account. The view
    # mails the owner instead (views.account.signup).


class LoginForm(LimitedAuthenticationForm):
    error_messages = {
        **auth_forms.AuthenticationForm.error_messages,
        "unconfirmed": _("Confirm your email address first: follow the link we sent you."),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not user.email_confirmed:
            raise forms.ValidationError(self.error_messages["unconfirmed"], code="unconfirmed")


class ResendForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)


@functools.cache
def _timezones() -> list[tuple[str, str]]:
    # Read once per process: listing them scans the whole time zone database on disk.
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class PreferencesForm(forms.ModelForm):  # type: ignore[type-arg]
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[("", _("The browser's language"))] + list(settings.LANGUAGES),
        required=False,
    )
    timezone = forms.ChoiceField(
        label=_("Time zone"), choices=_timezones, help_text=_("Dates and times are shown in it.")
    )

    class Meta:
        model = User
        fields = ("language", "timezone")
