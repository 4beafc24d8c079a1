"""Django's own messages that the website shows, worded again for the site's Spanish.

Django ships Spanish for them, but formal ("introduzca", "su contraseña") where the site speaks
to the customer with "tú". Marking the same msgids here puts them in smmpanel's catalogue, which
comes before Django's own (LOCALE_PATHS), so the site's wording wins; English is unchanged.
Nothing needs to import this module: it is read by `make messages`. A msgid Django changes in a
later version simply falls back to Django's own translation.
"""

from django.utils.translation import gettext_noop, ngettext_lazy

MESSAGES = (
    # django.contrib.auth.forms: sign-in, sign-up, password change.
    gettext_noop(
        "Please enter a correct %(username)s and password. Note that both fields may be case-sensitive."
    ),
    gettext_noop("Enter the same password as before, for verification."),
    gettext_noop("Your old password was entered incorrectly. Please enter it again."),
    # django.contrib.auth.models and validators: the username.
    gettext_noop("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
    gettext_noop(
        "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."
    ),
    # django.contrib.auth.password_validation: help texts and errors.
    gettext_noop("Your password can’t be too similar to your other personal information."),
    gettext_noop("Your password can’t be a commonly used password."),
    gettext_noop("Your password can’t be entirely numeric."),
    gettext_noop("The password is too similar to the %(verbose_name)s."),
    # django.core.validators and django.forms.
    gettext_noop("Enter a valid email address."),
    gettext_noop("Select a valid choice. %(value)s is not one of the available choices."),
)
PLURAL_MESSAGES = (
    ngettext_lazy(
        "Your password must contain at least %(min_length)d character.",
        "Your password must contain at least %(min_length)d characters.",
        "min_length",
    ),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
        0,
    ),
    ngettext_lazy(
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
        "limit_value",
    ),
)
