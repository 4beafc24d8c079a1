"""Every page exists in Spanish: the catalogue covers every string the code marks, and is compiled.

`make messages` regenerates smmpanel/locale/es/LC_MESSAGES/django.po and compiles it; these tests
extract the strings again into a scratch copy and fail on any string without a translation.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

import smmpanel

PACKAGE = Path(smmpanel.__file__).resolve().parent
CATALOGUE = PACKAGE / "locale" / "es" / "LC_MESSAGES"
# The same options as `make messages`.
MAKEMESSAGES = {"locale": ["es"], "no_obsolete": True, "add_location": "file", "verbosity": 0}


def _entries(po: Path, *flags: str) -> str:
    """The entries msgattrib selects (e.g. --untranslated), without the header."""
    out = subprocess.run(["msgattrib", *flags, "--no-wrap", str(po)], capture_output=True, text=True, check=True)
    return "\n".join(
        block for block in out.stdout.split("\n\n") if block.strip() and 'msgid ""\nmsgstr ""' not in block
    )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The catalogue as `make messages` would write it now, in a scratch copy of the package."""
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is missing: `make test` installs it (apt-get install gettext)")
    scratch = tmp_path_factory.mktemp("messages")
    source = scratch / "smmpanel"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("locale", "__pycache__", "static"))
    locale = scratch / "locale"
    shutil.copytree(PACKAGE / "locale", locale)
    cwd = os.getcwd()
    os.chdir(source)
    try:
        with override_settings(LOCALE_PATHS=[locale]):
            call_command("makemessages", **MAKEMESSAGES)
    finally:
        os.chdir(cwd)
    yield locale / "es" / "LC_MESSAGES" / "django.po"


def test_every_marked_string_has_a_spanish_translation(regenerated: Path) -> None:
    missing = _entries(regenerated, "--untranslated")
    assert not missing, f"untranslated strings (run `make messages` and translate them):\n{missing}"


def test_no_translation_is_a_fuzzy_guess(regenerated: Path) -> None:
    fuzzy = _entries(regenerated, "--only-fuzzy")
    assert not fuzzy, f"fuzzy entries (check each, then remove the fuzzy flag):\n{fuzzy}"


def test_the_committed_catalogue_is_compiled(tmp_path: Path) -> None:
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True)
    assert (CATALOGUE / "django.mo").read_bytes() == compiled.read_bytes(), "run `make messages`"


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="en")
def test_pages_come_out_in_spanish(client: Client) -> None:
    for url, spanish in [("/", "Crear una cuenta"), ("/login/", "Iniciar sesión"), ("/signup/", "Crea tu cuenta")]:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert '<html lang="es">' in page
        assert spanish in page, url
