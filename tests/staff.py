"""Members of staff for console tests: a confirmed authenticator each, codes computed the way an
authenticator app computes them, and a test client already past both sign-in steps.

    from staff import make_staff, signed_in, current_code, past_second_factor
"""

from typing import Any

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from smmpanel.accounts.models import User

PASSWORD = "Console-harbour-42"


def make_staff(username: str, role: str, **fields: Any) -> User:
    """A member of staff with `role` ("administrator", "support", "finance") and a confirmed
    authenticator (see current_code)."""
    user = User.objects.create_user(
        username, email=f"{username}@example.com", password=PASSWORD, is_staff=True, staff_role=role, **fields
    )
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


def current_code(user: User, *, offset: int = 0) -> str:
    """The code the user's authenticator app shows now (offset: that many 30-second steps away)."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


def signed_in(user: User) -> Client:
    """A client signed in as `user` and past the second factor, as after both sign-in steps."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
    session.save()
    return client


def code_for(device: TOTPDevice) -> str:
    """The code an authenticator app holding `device`'s key shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def past_second_factor(client: Client, user: User) -> Client:
    """`client` signed in as `user` past both steps, giving `user` a confirmed authenticator if
    they have none: what Django's admin now asks of staff (smmpanel/adminsite.py)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
