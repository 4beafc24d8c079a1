"""`smmpanel demo-code`: the code the demo operator's authenticator shows now, so a newcomer signs
in to the console without a phone. Only on the demo's own data: its SQLite file, its credentials
file, and an operator whose authenticator the demo made (second_factor.DEMO_DEVICE); anywhere
else it refuses and prints nothing secret."""

import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from smmpanel.accounts import second_factor

DEMO_DATABASE = "smmpanel.sqlite3"  # the file `smmpanel demo` serves, in the data dir
CREDENTIALS = "demo-credentials.json"


def on_the_demo_database() -> bool:
    """Whether this command runs on the demo's embedded SQLite file (not PostgreSQL, not another file)."""
    if connection.vendor != "sqlite":
        return False
    name = Path(str(connection.settings_dict["NAME"])).resolve()
    return name == (Path(settings.DATA_DIR) / DEMO_DATABASE).resolve()


def demo_device() -> TOTPDevice:
    """The demo operator's authenticator, or CommandError saying which check failed."""
    if not on_the_demo_database():
        raise CommandError(
            "demo-code works only on the demo's own database (the SQLite file `smmpanel demo` serves, "
            f"{Path(settings.DATA_DIR) / DEMO_DATABASE}); this is not it. Staff of a real panel "
            "read their codes from their own authenticator app."
        )
    path = Path(settings.DATA_DIR) / CREDENTIALS
    try:
        operator = json.loads(path.read_text())["operator"]
    except (OSError, ValueError, KeyError):
        raise CommandError(
            f"no demo here: {path} is missing or names no operator (run `smmpanel demo`)"
        ) from None
    device = TOTPDevice.objects.filter(
        user__username=operator, name=second_factor.DEMO_DEVICE, confirmed=True
    ).first()
    if device is None:
        raise CommandError(
            f"{operator!r} has no authenticator made by the demo (it was replaced, or this is not "
            "the demo's operator): demo-code prints only the codes of the demo's own authenticator"
        )
    return device


class Command(BaseCommand):
    help = "Print the demo operator's current sign-in code (the demo's own data only)."

    def handle(self, *args: Any, **options: Any) -> None:
        device = demo_device()
        left = device.step - int(time.time() - device.t0) % device.step
        self.stdout.write(second_factor.current_code(device))
        self.stderr.write(
            f"the console's code for {device.user.username}, for {left} more seconds; each code signs in once"
        )
