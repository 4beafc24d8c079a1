"""`smmpanel demo` prints logins for the operator console and the website; they must work."""

import json
from pathlib import Path

import pytest

from smmpanel.accounts.models import User
from smmpanel.catalog import demo
from smmpanel.web.management.commands.demo import _credentials


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
