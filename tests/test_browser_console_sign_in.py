"""In a real browser: a new member of staff opens the setup link `smmpanel staff create` printed,
chooses a password, scans the QR code (here: reads the key under it), types the code their app
would show, keeps their recovery codes and reaches the console's dashboard; later they sign in
with a recovery code. The sign-in pages fit a desktop and a phone in English and Spanish."""

import base64

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.conf import settings
from django_otp.oath import totp
from server import panel_server  # noqa: F401  (a fixture)
from staff import PASSWORD, make_staff

from smmpanel.accounts import staff
from smmpanel.accounts.models import AuditRecord, User

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

LAYOUT_ONLY = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
    reason="layout only: where boxes fall does not depend on the database (the SQLite run checks it)",
)
NEW_PASSWORD = "Lantern-quay-1987"


def code_for_key(shown: str) -> str:
    """What an authenticator app shows for the key typed from the page (base32, in groups)."""
    key = shown.replace(" ", "").upper()
    secret = base64.b32decode(key + "=" * (-len(key) % 8))
    return f"{totp(secret, step=30, t0=0, digits=6):06d}"


def choose_password(device: Tab, link: str) -> None:
    device.go(link)
    device.page.fill("#id_new_password1", NEW_PASSWORD)
    device.page.fill("#id_new_password2", NEW_PASSWORD)
    device.page.locator("main form button[type=submit]").click()
    device.page.wait_for_url(device.url("/console/setup/"))


def confirm_authenticator(device: Tab) -> list[str]:
    """Type the code for the key on the setup page; the recovery codes shown."""
    device.page.fill("#id_code", code_for_key(device.page.locator("#totp-key").inner_text()))
    device.page.locator("main form button[type=submit]").click()
    device.page.locator(".recovery-codes").wait_for()
    return [item.strip() for item in device.page.locator(".recovery-codes li").all_inner_texts()]


def test_a_new_member_of_staff_goes_from_the_setup_link_to_the_dashboard(tab: Tab) -> None:  # noqa: F811
    nina = staff.create("nina", "support", "nina@example.com")
    page = tab.page
    tab.go(staff.setup_link(nina))
    assert "nina" in page.locator("main").inner_text()
    tab.shot("welcome")
    choose_password(tab, staff.setup_link(nina))
    assert page.locator(".qr").is_visible()
    tab.shot("setup")

    codes = confirm_authenticator(tab)
    assert len(codes) == 10 and len(set(codes)) == 10
    tab.shot("recovery-codes")
    page.get_by_role("link", name="I have kept them: go on").click()
    page.wait_for_url(tab.url("/console/"))
    assert "nina" in page.locator(".topbar .account").inner_text()
    tab.shot("dashboard")

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(tab.url("/console/login/"))
    page.fill("#id_username", "nina")
    page.fill("#id_password", NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(tab.url("/console/verify/?next=/console/"))
    page.fill("#id_code", codes[0])
    tab.shot("verify-with-a-recovery-code")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(tab.url("/console/"))

    actions = list(
        AuditRecord.objects.filter(actor__username="nina").order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "staff.password_set",
        "second_factor.set_up",
        "sign_out",
        "sign_in.password",
        "sign_in.second_factor",
    ]
    assert User.objects.get(username="nina").check_password(NEW_PASSWORD)


def sign_in_pages(device: Tab, language: str, width: str) -> list[str]:
    """The sign-in pages (the setup link's too) in `language`, each shot and checked for what overflows."""
    device.page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": device.base_url}]
    )
    problems: list[str] = []

    def look(step: str) -> None:
        assert device.page.locator("html").get_attribute("lang") == language
        device.shot(f"{step}-{language}-{width}")
        problems.extend(f"[{language}] {problem}" for problem in device.past_the_edge())

    device.go("/console/login/")
    look("login")
    newcomer = staff.create(f"new-{language}-{width}", "finance")
    device.go(staff.setup_link(newcomer))
    look("welcome")
    choose_password(device, staff.setup_link(newcomer))
    look("setup")
    confirm_authenticator(device)
    look("recovery-codes")
    device.page.locator(".topbar form[action='/console/logout/'] button").click()

    make_staff(f"old-{language}-{width}", "administrator")
    device.go("/console/login/")
    device.page.fill("#id_username", f"old-{language}-{width}")
    device.page.fill("#id_password", PASSWORD)
    device.page.locator("main form button[type=submit]").click()
    device.page.wait_for_url(device.url("/console/verify/?next=/console/"))
    look("verify")
    return problems


@LAYOUT_ONLY
def test_the_sign_in_pages_fit_a_desktop_and_a_phone_in_both_languages(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    problems = []
    for device, width in ((tab, "1366"), (phone, "375")):
        for language in ("en", "es"):
            problems += sign_in_pages(device, language, width)
    assert not problems, "\n".join(problems)


@LAYOUT_ONLY
def test_the_qr_code_is_large_enough_to_scan_and_fits_a_phone(phone: Tab) -> None:  # noqa: F811
    newcomer = staff.create("nina", "support")
    choose_password(phone, staff.setup_link(newcomer))
    box = phone.page.locator(".qr").bounding_box()
    assert box is not None
    assert 160 <= box["width"] <= 375 - 2 * 16 and box["width"] == box["height"]
    phone.shot("qr-on-a-phone")
