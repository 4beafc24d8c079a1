"""Members of staff, as the command line manages them (`smmpanel staff`): created without a
password, they choose one through a one-time setup link and then set up their second factor
(the console's sign-in does both); a role changed, an account disabled, a second factor reset.
Every change is audited with no actor and the note "command line"."""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes, force_str
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode
from django_otp import user_has_device

from smmpanel.accounts import audit, second_factor
from smmpanel.accounts.models import StaffRole, User

COMMAND_LINE = "command line"


class StaffError(ValueError):
    """Bad input for a staff change (its message says what); nothing was changed."""


class SetupTokens(PasswordResetTokenGenerator):
    """The token of a setup link: Django's password-reset token under its own salt, so neither
    opens the other's page. Choosing a password (or signing in, or being disabled) ends it, and it
    expires after SMMPANEL_STAFF_SETUP_HOURS."""

    key_salt = "smmpanel.accounts.staff.SetupTokens"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{super()._make_hash_value(user, timestamp)}{user.is_active}"

    def check_token(self, user: User | None, token: str | None) -> bool:
        if user is None or not token or token.count("-") != 1:
            return False
        try:
            issued = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - issued > settings.SMMPANEL_STAFF_SETUP_HOURS * 3600:
            return False
        secrets = [self.secret, *self.secret_fallbacks]
        return any(
            constant_time_compare(self._make_token_with_timestamp(user, issued, s), token) for s in secrets
        )


setup_tokens = SetupTokens()


def setup_link(user: User) -> str:
    """The one-time link where `user` chooses a password: absolute on SMMPANEL_SITE_URL if set."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("console:welcome", args=[uid, setup_tokens.make_token(user)])
    return f"{settings.SMMPANEL_SITE_URL}{path}"


def user_of_link(uidb64: str, token: str) -> User | None:
    """The member of staff a setup link is for, if it is theirs, unused and not expired."""
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uidb64))))
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        return None
    if not (user.is_active and user.is_staff and setup_tokens.check_token(user, token)):
        return None
    return user


def _role(role: str) -> str:
    if role not in StaffRole.values:
        raise StaffError(f"unknown role {role!r}: one of {', '.join(StaffRole.values)}")
    return role


def member(name: str) -> User:
    """The member of staff named `name`, or a StaffError saying there is none."""
    user = User.objects.filter(username=name).first()
    if user is None:
        raise StaffError(f"no user named {name!r}")
    if not user.is_staff:
        raise StaffError(f"{name!r} is a customer, not a member of staff")
    return user


def create(name: str, role: str, email: str = "") -> User:
    """A new member of staff with `role` and no usable password (their setup link gives one)."""
    name, role = name.strip(), _role(role)
    if not name:
        raise StaffError("a name is required")
    try:
        User.username_validator(name)
    except ValidationError:
        raise StaffError(f"{name!r} is not a username: letters, digits and @ . + - _ only") from None
    if User.objects.filter(username__iexact=name).exists():
        raise StaffError(f"a user named {name!r} exists already")
    email = email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise StaffError(f"{email!r} is not an email address") from None
    with transaction.atomic():
        user = User(username=name, email=email, is_staff=True, staff_role=role)
        user.set_unusable_password()
        user.save(force_insert=True)  # a new row: nothing read earlier to write back
        after = {"username": name, "role": role, "email": user.email}
        audit.record(
            None, "staff.create", object_type="user", object_id=user.pk, after=after, note=COMMAND_LINE
        )
    return user


def change_role(user: User, role: str) -> None:
    before = user.staff_role
    with transaction.atomic():
        user.staff_role = _role(role)
        user.save(update_fields=["staff_role"])
        audit.record(
            None,
            "staff.role",
            object_type="user",
            object_id=user.pk,
            before={"role": before},
            after={"role": role},
            note=COMMAND_LINE,
        )


def end_sessions(user: User) -> int:
    """Sign `user` out everywhere (the database's sessions); returns how many ended."""
    mine = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    Session.objects.filter(pk__in=mine).delete()
    return len(mine)


def disable(user: User) -> int:
    """No more sign-in for `user`, and their open sessions end; returns how many ended."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        audit.record(
            None,
            "staff.disable",
            object_type="user",
            object_id=user.pk,
            before={"is_active": user.is_active},
            after={"is_active": False},
            note=COMMAND_LINE,
        )
        user.is_active = False
        return end_sessions(user)


def reset_second_factor(user: User) -> None:
    """Forget the authenticator and recovery codes of `user`, and end their sessions: their next
    sign-in sets up a new second factor."""
    with transaction.atomic():
        had = user_has_device(user, confirmed=True)
        second_factor.remove_devices(user)
        audit.record(
            None,
            "staff.reset_second_factor",
            object_type="user",
            object_id=user.pk,
            before={"second_factor": had},
            after={"second_factor": False},
            note=COMMAND_LINE,
        )
        end_sessions(user)


@dataclass(frozen=True)
class Member:
    username: str
    role: str
    active: bool
    second_factor: bool
    last_login: datetime | None


def members() -> list[Member]:
    """Every member of staff, by name: role, whether active, second factor set up, last sign-in."""
    staff = User.objects.filter(is_staff=True).order_by("username")
    return [
        Member(
            user.username,
            StaffRole.ADMINISTRATOR if user.is_superuser else user.staff_role,
            user.is_active,
            user_has_device(user, confirmed=True),
            user.last_login,
        )
        for user in staff
    ]
