"""Staff's second factor, on django-otp: one TOTP device per member of staff, confirmed by a first
code, and single-use recovery codes (a static device). Nothing here is hand-written TOTP."""

import base64
import secrets

import segno
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from smmpanel.accounts.models import User

RECOVERY = "recovery"
# The name of the authenticator `smmpanel demo` sets up for its own operator: the mark that lets
# `smmpanel demo-code` print its codes (no other device is ever given this name).
DEMO_DEVICE = "demo authenticator (smmpanel demo only)"


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed authenticator of this member of staff, made on first need; the same one is
    shown again until it is confirmed, so a reload does not change the QR code already scanned."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def confirm(device: TOTPDevice, code: str) -> bool:
    """Confirm the device with a code it shows; False (and nothing changed) for a wrong code."""
    if not device.verify_token(code):
        return False
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return True


def qr_data_uri(device: TOTPDevice) -> str:
    """The device's otpauth:// address as an SVG QR code in a data: URI, for an <img> (no image
    library, and no markup of ours marked safe)."""
    return str(segno.make(device.config_url, micro=False).svg_data_uri(scale=4, dark="#111", light="#fff"))


def readable_key(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    key = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@transaction.atomic
def new_recovery_codes(user: User, count: int) -> list[str]:
    """Replace the recovery codes of `user` with `count` new ones, each usable once."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name=RECOVERY, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(count)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def remove_devices(user: User) -> None:
    """Forget every second factor of `user` (they set up a new one at their next sign-in)."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def current_code(device: TOTPDevice) -> str:
    """The code `device` accepts now, as an authenticator app would show it (django-otp's TOTP)."""
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    return f"{code:0{device.digits}d}"


def set_up_for_demo(user: User) -> TOTPDevice:
    """The demo operator's confirmed authenticator, made once and marked as the demo's."""
    device = TOTPDevice.objects.filter(user=user, name=DEMO_DEVICE, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name=DEMO_DEVICE, confirmed=True)
