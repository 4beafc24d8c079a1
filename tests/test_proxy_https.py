"""Behind the README's TLS proxy: links are https://, HTTPS is enforced, and `check --deploy` is clean.

The settings are read the way production reads them: the settings module loaded in a fresh
process from the README's own production environment (its `export` lines), never hand-copied.
"""

import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from smmpanel.accounts.models import User

README = Path(__file__).resolve().parents[1] / "README.md"
# What the README's nginx sends for a client on https://testserver (its Host has no port).
HTTPS = {"Host": "testserver", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
PASSWORD = "Quiet-harbour-71"
# What the proxy and HTTPS settings decide; everything else stays as the tests' own.
HTTPS_SETTINGS = (
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
)


def readme_production_environment(data_dir: Path) -> dict[str, str]:
    """The variables README's production section exports, with a real secret key and a usable data dir."""
    section = README.read_text().split("## Production", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    env: dict[str, str] = {}
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            for word in words[1:]:
                name, _, value = word.partition("=")
                env[name] = value
    assert "SECRET_KEY" in env and "SMMPANEL_TRUSTED_PROXIES" in env, env
    env["SECRET_KEY"] = secrets.token_urlsafe(50)  # the README writes "..."
    env["SMMPANEL_DATA_DIR"] = str(data_dir)
    return env


def _process_env(extra: dict[str, str]) -> dict[str, str]:
    # Nothing inherited from the test run's own configuration (DATABASE_URL, SMMPANEL_*).
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **extra}


def loaded_settings(extra: dict[str, str]) -> dict[str, Any]:
    """HTTPS_SETTINGS as smmpanel.settings computes them in a process with this environment."""
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {HTTPS_SETTINGS!r}}}))"
    )
    env = _process_env({"DJANGO_SETTINGS_MODULE": "smmpanel.settings", **extra})
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    values: dict[str, Any] = json.loads(done.stdout)
    if values["SECURE_PROXY_SSL_HEADER"] is not None:
        values["SECURE_PROXY_SSL_HEADER"] = tuple(values["SECURE_PROXY_SSL_HEADER"])
    return values


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return loaded_settings(readme_production_environment(tmp_path_factory.mktemp("production")))


@pytest.fixture
def behind_proxy(settings: Any, production: dict[str, Any]) -> Any:
    """This test runs with the proxy and HTTPS settings of the README's production environment."""
    for name, value in production.items():
        setattr(settings, name, value)
    return settings


def sign_up(client: Client, **headers: str) -> str:
    data = {"username": "carol", "email": "carol@example.com", "password1": PASSWORD, "password2": PASSWORD}
    response = client.post(reverse("signup"), data, headers=headers)
    assert response.status_code == 302, response.content[:500]
    assert len(mail.outbox) == 1
    found = re.search(r"\S+://\S+/signup/confirm/\S+/", mail.outbox[0].body)
    assert found, mail.outbox[0].body
    return found.group(0)


def reset_link(client: Client, **headers: str) -> str:
    User.objects.create_user("fay", "fay@example.com", PASSWORD)
    response = client.post(reverse("password_reset"), {"email": "fay@example.com"}, headers=headers)
    assert response["Location"] == reverse("password_reset_done")
    found = re.search(r"\S+://\S+/password/reset/\S+/\S+/", mail.outbox[0].body)
    assert found, mail.outbox[0].body
    return found.group(0)


def api_endpoints(client: Client, url: str, **headers: str) -> list[str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200
    return re.findall(r"\w+://testserver/api/v[12]", response.content.decode())


# --- The settings, as loaded from the environment ------------------------------------------------


def test_the_readme_production_environment_passes_check_deploy(tmp_path: Path) -> None:
    env = _process_env(readme_production_environment(tmp_path))
    smmpanel = Path(sys.executable).with_name("smmpanel")
    done = subprocess.run(
        [smmpanel, "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout, done.stdout + done.stderr


def test_check_deploy_refuses_the_demo_gateway(tmp_path: Path) -> None:
    env = _process_env(readme_production_environment(tmp_path)) | {"SMMPANEL_DEMO": "1"}
    smmpanel = Path(sys.executable).with_name("smmpanel")
    done = subprocess.run(
        [smmpanel, "check", "--deploy"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "smmpanel.E001" in done.stderr and "SMMPANEL_DEMO" in done.stderr, done.stdout + done.stderr


def test_the_readme_nginx_passes_the_scheme_over_any_the_client_sent() -> None:
    # proxy_set_header replaces a client's own X-Forwarded-Proto: the panel may trust what arrives.
    nginx = README.read_text().split("```nginx", 1)[1].split("```", 1)[0]
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in nginx


def test_x_forwarded_proto_is_trusted_only_behind_a_trusted_proxy(tmp_path: Path) -> None:
    base = {"SMMPANEL_DATA_DIR": str(tmp_path)}
    assert loaded_settings(base)["SECURE_PROXY_SSL_HEADER"] is None
    assert loaded_settings(base | {"SMMPANEL_TRUSTED_PROXIES": "0"})["SECURE_PROXY_SSL_HEADER"] is None
    trusted = loaded_settings(base | {"SMMPANEL_TRUSTED_PROXIES": "1"})
    assert trusted["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_https_is_off_unless_asked_for(tmp_path: Path) -> None:
    """The demo and a plain-HTTP install keep working: no redirect, no HSTS by default."""
    defaults = loaded_settings({"SMMPANEL_DATA_DIR": str(tmp_path)})
    assert defaults["SECURE_SSL_REDIRECT"] is False
    assert defaults["SECURE_HSTS_SECONDS"] == 0


def test_the_readme_production_environment_turns_https_on(production: dict[str, Any]) -> None:
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 31536000
    assert production["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


# --- Requests through the proxy -------------------------------------------------------------------


@pytest.mark.django_db
def test_behind_the_proxy_the_confirmation_mail_link_is_https(client: Client, behind_proxy: Any) -> None:
    assert sign_up(client, **HTTPS).startswith("https://testserver/signup/confirm/")


@pytest.mark.django_db
def test_behind_the_proxy_the_password_reset_link_is_https(client: Client, behind_proxy: Any) -> None:
    assert reset_link(client, **HTTPS).startswith("https://testserver/password/reset/")


@pytest.mark.django_db
def test_behind_the_proxy_the_api_page_and_docs_show_https(client: Client, behind_proxy: Any) -> None:
    client.force_login(User.objects.create_user("dan", "dan@example.com", PASSWORD))
    expected = ["https://testserver/api/v2", "https://testserver/api/v1"]
    for url in (reverse("api_page"), reverse("api_docs")):
        found = api_endpoints(client, url, **HTTPS)
        assert found and set(found) == set(expected), (url, found)


@pytest.mark.django_db
def test_behind_the_proxy_plain_http_is_redirected_and_https_gets_hsts(
    client: Client, behind_proxy: Any, production: dict[str, Any]
) -> None:
    response = client.get(reverse("services"))
    assert response.status_code == 301
    assert response["Location"] == "https://testserver" + reverse("services")
    response = client.get(reverse("services"), headers=HTTPS)
    assert response.status_code == 200
    hsts = response["Strict-Transport-Security"]
    assert f"max-age={production['SECURE_HSTS_SECONDS']}" in hsts
    assert "includeSubDomains" in hsts and "preload" in hsts


# --- Without a trusted proxy, the client's header means nothing ----------------------------------


@pytest.mark.django_db
def test_without_a_trusted_proxy_a_client_sent_header_is_not_trusted(client: Client, settings: Any) -> None:
    """The tests' own settings are loaded from an environment without SMMPANEL_TRUSTED_PROXIES."""
    assert settings.SMMPANEL_TRUSTED_PROXIES == 0
    assert sign_up(client, **HTTPS).startswith("http://testserver/signup/confirm/")
    mail.outbox.clear()
    assert reset_link(client, **HTTPS).startswith("http://testserver/password/reset/")
    client.force_login(User.objects.get(username="fay"))
    for url in (reverse("api_page"), reverse("api_docs")):
        found = api_endpoints(client, url, **HTTPS)
        assert found and all(link.startswith("http://") for link in found), (url, found)
