"""`smmpanel demo` prints logins for the operator console and the website, and an API key; they must work.
The console's login needs a second factor: the demo sets up its operator's authenticator itself and
prints the command that shows the current code (tests/test_console_sign_in.py signs in with it).

The demo customer has one API key, the one the demo prints; once it is rotated on the API page the
demo says so and where to make a new one, never printing a key that no longer works."""

import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from smmpanel.accounts import second_factor
from smmpanel.accounts.models import ApiKey, User, hash_api_key
from smmpanel.accounts.services import rotate_api_key
from smmpanel.catalog import demo
from smmpanel.web.management.commands.demo import Command, _credentials


@pytest.mark.django_db
def test_the_demo_logins_work_and_are_kept(tmp_path: Path) -> None:
    demo.seed()
    path = tmp_path / "demo-credentials.json"
    creds = _credentials(path)
    assert User.objects.get(username=creds["operator"]).check_password(creds["password"])
    assert User.objects.get(username=creds["customer"]).check_password(creds["password"])
    assert path.stat().st_mode & 0o777 == 0o600
    assert _credentials(path) == creds


@pytest.mark.django_db
def test_an_older_file_gains_the_website_login(tmp_path: Path) -> None:
    demo.seed()
    path = tmp_path / "demo-credentials.json"
    path.write_text(json.dumps({"operator": "operator", "password": "kept-secret-1", "api_key": "k"}))
    creds = _credentials(path)
    assert creds["customer"] == demo.DEMO_CUSTOMER
    assert User.objects.get(username=demo.DEMO_CUSTOMER).check_password("kept-secret-1")
    assert json.loads(path.read_text()) == creds


def _start(monkeypatch: pytest.MonkeyPatch, settings: Any) -> str:
    """What `smmpanel demo` prints, up to starting its server and worker (left out here)."""
    monkeypatch.setattr(Command, "_serve", lambda self, argv: None)
    out = io.StringIO()
    call_command("demo", bind="127.0.0.1:8123", stdout=out)
    return out.getvalue()


def _active_keys() -> list[str]:
    keys = ApiKey.objects.filter(user__username=demo.DEMO_CUSTOMER, is_active=True)
    return list(keys.values_list("key_hash", flat=True))


@pytest.mark.django_db
def test_the_demo_customer_has_one_api_key_the_printed_one_and_it_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, api: Any
) -> None:
    settings.DATA_DIR = tmp_path
    printed = _start(monkeypatch, settings)
    key = json.loads((tmp_path / "demo-credentials.json").read_text())["api_key"]
    assert f"key {key}\n" in printed and f"-d key={key} -d action=balance" in printed
    assert ApiKey.objects.filter(user__username=demo.DEMO_CUSTOMER).count() == 1
    assert _active_keys() == [hash_api_key(key)]
    answer = api.post("v2", key=key, action="balance")
    assert "error" not in answer and Decimal(answer["balance"]) == demo.DEMO_BALANCE
    assert _start(monkeypatch, settings) == printed  # a restart prints the same key, issues none
    assert ApiKey.objects.filter(user__username=demo.DEMO_CUSTOMER).count() == 1


@pytest.mark.django_db
def test_after_the_key_is_rotated_the_demo_says_where_to_get_one_and_prints_no_dead_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any, api: Any
) -> None:
    settings.DATA_DIR = tmp_path
    _start(monkeypatch, settings)
    old = json.loads((tmp_path / "demo-credentials.json").read_text())["api_key"]
    _key, new = rotate_api_key(User.objects.get(username=demo.DEMO_CUSTOMER))  # the API page's button
    assert api.post("v2", key=old, action="balance") == {"error": "Invalid API key"}
    printed = _start(monkeypatch, settings)
    assert old not in printed and new not in printed
    assert "rotated" in printed and "http://127.0.0.1:8123/api/ " in printed
    assert "-d key=YOUR_KEY -d action=balance" in printed
    assert _active_keys() == [hash_api_key(new)]  # the restart left the new key alone


@pytest.mark.django_db
def test_the_demo_operator_is_an_administrator_with_the_demo_s_own_authenticator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path
    printed = _start(monkeypatch, settings)
    creds = json.loads((tmp_path / "demo-credentials.json").read_text())
    operator = User.objects.get(username=creds["operator"])
    assert operator.staff_role == "administrator"
    [device] = TOTPDevice.objects.filter(user=operator)
    assert device.confirmed and device.name == second_factor.DEMO_DEVICE
    console = f"  console:         http://127.0.0.1:8123/console/  login operator / {creds['password']}\n"
    assert console in printed
    assert "demo-code` in another terminal" in printed
    assert _start(monkeypatch, settings) == printed  # a restart keeps the same authenticator
    assert TOTPDevice.objects.get(user=operator).pk == device.pk


@pytest.mark.django_db
def test_an_operator_who_set_up_their_own_authenticator_keeps_it(tmp_path: Path) -> None:
    demo.seed()
    path = tmp_path / "demo-credentials.json"
    operator = User.objects.get(username=_credentials(path)["operator"])
    second_factor.remove_devices(operator)
    own = TOTPDevice.objects.create(user=operator, name="my phone", confirmed=True)
    _credentials(path)
    assert list(TOTPDevice.objects.filter(user=operator)) == [own]
