"""Staff sign-in end to end: the setup link `smmpanel staff create` prints (once, for a limited time),
the authenticator's setup, the code step (a wrong code, a code used twice, recovery codes, the
sign-in limits), disabled staff and customers kept out, the command's output and errors, the demo's
code command kept to the demo, and Django's admin behind the same second step."""

import io
import re
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import URLPattern, reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from staff import PASSWORD, code_for, current_code, make_staff, signed_in

from smmpanel.accounts import audit, second_factor
from smmpanel.accounts import staff as staff_accounts
from smmpanel.accounts.models import AuditRecord, User
from smmpanel.catalog import demo
from smmpanel.console import urls as console_urls
from smmpanel.console.guard import SEEN
from smmpanel.web.management.commands import demo_code
from smmpanel.web.management.commands.demo import _credentials

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Lantern-quay-1987"
SIGN_IN_STEPS = {"login", "verify", "setup", "logout", "welcome"}


@pytest.fixture(autouse=True)
def codes_tried_quickly(settings: Any) -> None:
    """django-otp also slows a device down for a second after each wrong code (its own tested
    behaviour); these tests try codes faster than a person would."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0


@pytest.fixture
def strict(settings: Any) -> None:
    settings.SMMPANEL_LOGIN_BURST = 6  # per address
    settings.SMMPANEL_LOGIN_PER_MINUTE = 1
    settings.SMMPANEL_LOGIN_USER_BURST = 3  # per (address, username)
    settings.SMMPANEL_LOGIN_USER_PER_MINUTE = 1


def staff_command(*args: str) -> str:
    out = io.StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


def link_in(output: str) -> str:
    [link] = re.findall(r"\S*/console/welcome/\S+/", output)
    return link


def password_step(username: str, password: str = PASSWORD, address: str = "10.0.0.1") -> Client:
    client = Client(REMOTE_ADDR=address)
    response = client.post(reverse("console:login"), {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def code_step(client: Client, code: str) -> Any:
    return client.post(reverse("console:verify"), {"code": code})


def wrong_code_for(user: User) -> str:
    """A six-digit code the authenticator shows at none of the steps the server accepts."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    near = {current_code(user, offset=step) for step in (-2, -1, 0, 1, 2)}
    code = (int(current_code(user)) + 1) % 10**device.digits
    while f"{code:06d}" in near:
        code = (code + 1) % 10**device.digits
    return f"{code:06d}"


def verified(client: Client) -> bool:
    return client.get(reverse("console:dashboard")).status_code == 200


def actions() -> list[str]:
    return list(AuditRecord.objects.order_by("id").values_list("action", flat=True))


# The setup link ------------------------------------------------------------------------------


def test_a_new_member_of_staff_sets_a_password_then_an_authenticator_through_the_link() -> None:
    link = link_in(staff_command("create", "nina", "--role", "support", "--email", "nina@example.com"))
    nina = User.objects.get(username="nina")
    assert (nina.is_staff, nina.staff_role, nina.has_usable_password()) == (True, "support", False)

    client = Client()
    page = client.get(link)
    assert page.status_code == 200 and "nina" in page.content.decode()
    response = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("console:setup")
    assert User.objects.get(username="nina").check_password(NEW_PASSWORD)
    assert not verified(client)  # a password alone opens nothing

    setup = client.get(reverse("console:setup"))
    key = setup.context["key"].replace(" ", "")
    device = TOTPDevice.objects.get(user=nina, confirmed=False)
    assert key == second_factor.readable_key(device).replace(" ", "")
    response = client.post(reverse("console:setup"), {"code": code_for(device)})
    assert response.status_code == 200 and len(response.context["codes"]) == 10
    assert verified(client)
    assert actions() == ["staff.create", "staff.password_set", "second_factor.set_up"]


def test_the_setup_link_works_once() -> None:
    link = link_in(staff_command("create", "nina", "--role", "support"))
    client = Client()
    client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    for again in (Client(), client):
        page = again.get(link)
        assert page.status_code == 404 and "no longer works" in page.content.decode()
        response = again.post(
            link, {"new_password1": "Other-pass-2024x", "new_password2": "Other-pass-2024x"}
        )
        assert response.status_code == 404
    assert User.objects.get(username="nina").check_password(NEW_PASSWORD)


def test_the_setup_link_signs_out_whoever_was_signed_in_on_that_browser() -> None:
    link = link_in(staff_command("create", "nina", "--role", "support"))
    client = signed_in(make_staff("alice", "administrator"))
    page = client.get(link).content.decode()
    assert SESSION_KEY not in client.session and "nina" in page
    response = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("console:setup")
    assert client.session[SESSION_KEY] == str(User.objects.get(username="nina").pk)


def test_the_setup_link_expires(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.SMMPANEL_STAFF_SETUP_HOURS = 48
    link = link_in(staff_command("create", "nina", "--role", "support"))
    issued = datetime.now()
    monkeypatch.setattr(staff_accounts.setup_tokens, "_now", lambda: issued + timedelta(hours=47, minutes=59))
    assert Client().get(link).status_code == 200
    monkeypatch.setattr(staff_accounts.setup_tokens, "_now", lambda: issued + timedelta(hours=48, minutes=1))
    assert Client().get(link).status_code == 404
    response = Client().post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 404
    assert not User.objects.get(username="nina").has_usable_password()


@pytest.mark.parametrize(
    "spoil",
    [
        lambda link: link[:-2] + ("a/" if link[-2] != "a" else "b/"),  # another token
        lambda link: re.sub(r"/welcome/[^/]+/", "/welcome/OTk5OTk/", link),  # another user
        lambda link: re.sub(r"/welcome/[^/]+/", "/welcome/%%%/", link),  # no user at all
    ],
)
def test_a_spoilt_setup_link_opens_nothing(spoil: Any) -> None:
    link = link_in(staff_command("create", "nina", "--role", "support"))
    assert Client().get(spoil(link)).status_code == 404


def test_a_setup_link_for_a_customer_or_a_disabled_member_opens_nothing() -> None:
    customer = User.objects.create_user("carol", password=PASSWORD)
    assert Client().get(staff_accounts.setup_link(customer)).status_code == 404
    link = link_in(staff_command("create", "nina", "--role", "support"))
    staff_command("disable", "nina")
    assert Client().get(link).status_code == 404


# Nothing but the setup page before the authenticator --------------------------------------


def console_urls_to_try() -> list[str]:
    """Every console page on this branch but the sign-in steps, with sample arguments."""
    samples = {"int": 1, "str": "1", "slug": "x", "uuid": uuid.UUID(int=1), "path": "x"}
    found = []
    for pattern in console_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        if pattern.name in SIGN_IN_STEPS:
            continue
        converters = pattern.pattern.converters  # type: ignore[attr-defined]
        kwargs = {
            name: samples[type(c).__name__.replace("Converter", "").lower()] for name, c in converters.items()
        }
        found.append(reverse(f"console:{pattern.name}", kwargs=kwargs))
    return found


def test_the_console_has_pages_to_try() -> None:
    assert reverse("console:dashboard") in console_urls_to_try()
    assert reverse("console:audit") in console_urls_to_try()


@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_without_a_confirmed_authenticator_reach_nothing_but_the_setup_page(method: str) -> None:
    User.objects.create_user("nina", password=PASSWORD, is_staff=True, staff_role="administrator")
    client = password_step("nina")
    client.get(reverse("console:setup"))  # an authenticator is offered, not confirmed
    assert TOTPDevice.objects.filter(user__username="nina", confirmed=False).exists()
    sign_in_pages = [reverse("console:verify")] + ([reverse("console:login")] if method == "get" else [])
    for url in [*console_urls_to_try(), *sign_in_pages]:
        response = getattr(client, method)(url, follow=True)
        assert response.redirect_chain, url
        assert response.request["PATH_INFO"] == reverse("console:setup"), (url, response.redirect_chain)
        assert "Set up your second factor" in response.content.decode()
    assert client.get(reverse("admin:index"), follow=True).request["PATH_INFO"] == reverse("console:setup")


# The code step -----------------------------------------------------------------------------


def test_a_wrong_code_is_refused() -> None:
    alice = make_staff("alice", "administrator")
    client = password_step("alice")
    response = code_step(client, wrong_code_for(alice))
    assert response.status_code == 200
    assert "That code is wrong or was already used." in response.content.decode()
    assert not verified(client)
    assert actions() == ["sign_in.password", "sign_in.wrong_code"]


def test_the_same_code_twice_is_refused() -> None:
    alice = make_staff("alice", "administrator")
    code = current_code(alice)
    first = password_step("alice")
    assert code_step(first, code)["Location"] == reverse("console:dashboard")
    second = password_step("alice")
    response = code_step(second, code)
    assert "That code is wrong or was already used." in response.content.decode()
    assert verified(first) and not verified(second)


def test_a_recovery_code_works_once() -> None:
    alice = make_staff("alice", "administrator")
    first, second = second_factor.new_recovery_codes(alice, 2)
    client = password_step("alice")
    assert code_step(client, first)["Location"] == reverse("console:dashboard")
    assert verified(client)
    assert AuditRecord.objects.get(action="sign_in.second_factor").note == "recovery code"

    again = password_step("alice")
    assert "already used" in code_step(again, first).content.decode()
    assert not verified(again)
    assert code_step(again, f" {second} ")["Location"] == reverse("console:dashboard")
    assert not StaticDevice.objects.get(user=alice).token_set.exists()


def test_wrong_passwords_on_the_staff_sign_in_are_limited(strict: None) -> None:
    make_staff("alice", "administrator")
    client = Client(REMOTE_ADDR="10.0.0.1")
    codes = [
        client.post(reverse("console:login"), {"username": "alice", "password": "wrong"}).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    response = client.post(reverse("console:login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429 and SESSION_KEY not in client.session


def test_codes_are_limited_and_even_the_right_one_is_refused_over_the_limit(strict: None) -> None:
    alice = make_staff("alice", "administrator")
    client = password_step("alice")  # one attempt of the three this address and name may make
    codes = [code_step(client, wrong_code_for(alice)).status_code for _ in range(2)]
    assert codes == [200, 200]
    response = code_step(client, current_code(alice))
    assert response.status_code == 429 and "Too many sign-in attempts" in response.content.decode()
    assert not verified(client)
    assert password_step("alice", address="10.0.0.2") is not None  # elsewhere, alice still signs in


def test_the_setup_step_is_limited_too(strict: None) -> None:
    User.objects.create_user("nina", password=PASSWORD, is_staff=True, staff_role="support")
    client = password_step("nina")
    client.get(reverse("console:setup"))
    device = TOTPDevice.objects.get(user__username="nina")
    statuses = [client.post(reverse("console:setup"), {"code": "000000"}).status_code for _ in range(2)]
    assert statuses == [200, 200]  # with the password, the three this address and name may make
    response = client.post(reverse("console:setup"), {"code": code_for(device)})
    assert response.status_code == 429
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed


# Who may not sign in -----------------------------------------------------------------------


def test_a_disabled_member_of_staff_cannot_sign_in_and_their_sessions_end() -> None:
    alice = make_staff("alice", "administrator")
    open_session = signed_in(alice)
    assert verified(open_session)
    assert "1 open session(s) ended" in staff_command("disable", "alice")
    response = open_session.get(reverse("console:dashboard"))
    assert response["Location"].startswith(reverse("console:login"))
    response = Client().post(reverse("console:login"), {"username": "alice", "password": PASSWORD})
    assert (
        response.status_code == 200
        and "Please enter a correct username and password" in response.content.decode()
    )
    response = Client().post("/admin/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 200


def test_a_customer_cannot_sign_in_to_the_console_or_the_admin() -> None:
    User.objects.create_user("carol", password=PASSWORD)
    client = Client()
    response = client.post(reverse("console:login"), {"username": "carol", "password": PASSWORD})
    assert "not a member of the panel" in response.content.decode()
    response = client.post("/admin/login/", {"username": "carol", "password": PASSWORD})
    assert response.status_code == 200 and SESSION_KEY not in client.session


def test_staff_without_a_console_role_are_told_at_the_admin_s_sign_in() -> None:
    User.objects.create_user("olga", password=PASSWORD, is_staff=True)  # `user create --staff`
    client = Client()
    response = client.post("/admin/login/", {"username": "olga", "password": PASSWORD})
    assert response.status_code == 200 and SESSION_KEY not in client.session
    assert "no staff role" in response.content.decode()


# The command -------------------------------------------------------------------------------


def test_create_prints_a_path_or_an_absolute_link(settings: Any) -> None:
    out = staff_command("create", "nina", "--role", "finance")
    assert link_in(out).startswith("/console/welcome/")
    assert "works once, for 48 hours" in out and "SMMPANEL_SITE_URL" in out
    settings.SMMPANEL_SITE_URL = "https://panel.example.com"
    out = staff_command("create", "omar", "--role", "support")
    assert link_in(out).startswith("https://panel.example.com/console/welcome/")
    record = AuditRecord.objects.get(
        action="staff.create", object_id=str(User.objects.get(username="omar").pk)
    )
    assert (record.actor, record.actor_name, record.note) == (None, "", "command line")
    assert record.after == {"username": "omar", "role": "support", "email": ""}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["create", "nina", "--role", "boss"], "unknown role 'boss': one of administrator, support, finance"),
        (["create", "Alice", "--role", "support"], "a user named 'Alice' exists already"),
        (["create", "nina <script>", "--role", "support"], "is not a username"),
        (["create", "nina"], "the following arguments are required: --role"),
        (["create", "nina", "--role", "support", "--email", "nina@"], "'nina@' is not an email address"),
        (["role", "alice", "boss"], "unknown role 'boss'"),
        (["role", "ghost", "support"], "no user named 'ghost'"),
        (["role", "carol", "support"], "'carol' is a customer, not a member of staff"),
        (["disable", "carol"], "'carol' is a customer"),
        (["reset-2fa", "ghost"], "no user named 'ghost'"),
    ],
)
def test_the_command_refuses_bad_input_and_changes_nothing(args: list[str], error: str) -> None:
    make_staff("alice", "support")
    User.objects.create_user("carol", password=PASSWORD)
    users = list(User.objects.order_by("id").values_list("username", "staff_role", "is_staff", "is_active"))
    with pytest.raises(CommandError, match=re.escape(error)):
        staff_command(*args)
    assert (
        list(User.objects.order_by("id").values_list("username", "staff_role", "is_staff", "is_active"))
        == users
    )
    assert not AuditRecord.objects.exists()


def test_list_role_and_reset_2fa() -> None:
    alice = make_staff("alice", "support")
    staff_command("create", "nina", "--role", "finance")
    listing = staff_command("list").splitlines()
    assert listing[0].split() == ["name", "role", "active", "second", "factor", "last", "sign-in"]
    assert listing[1].split()[:4] == ["alice", "support", "yes", "set"]
    assert listing[2].split()[:5] == ["nina", "finance", "yes", "not", "yet"]

    assert staff_command("role", "alice", "administrator") == "alice is now administrator\n"
    record = AuditRecord.objects.get(action="staff.role")
    assert (record.before, record.after, record.note) == (
        {"role": "support"},
        {"role": "administrator"},
        "command line",
    )

    session = signed_in(alice)
    out = staff_command("reset-2fa", "alice")
    assert link_in(out).startswith("/console/welcome/")
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not verified(session)
    client = password_step("alice")
    assert client.get(reverse("console:dashboard"), follow=True).request["PATH_INFO"] == reverse(
        "console:setup"
    )
    assert AuditRecord.objects.get(action="staff.reset_second_factor").after == {"second_factor": False}


# The demo's code ---------------------------------------------------------------------------


def demo_code_output() -> str:
    out = io.StringIO()
    call_command("demo_code", stdout=out, stderr=io.StringIO())
    return out.getvalue().strip()


def test_demo_code_refuses_any_database_but_the_demo_s_own(tmp_path: Path, settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    demo.seed()
    _credentials(tmp_path / "demo-credentials.json")  # the demo's own operator, on the test database
    assert not demo_code.on_the_demo_database()
    with pytest.raises(CommandError, match="works only on the demo's own database"):
        demo_code_output()


def test_demo_code_refuses_without_the_demo_s_data(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(demo_code, "on_the_demo_database", lambda: True)
    with pytest.raises(CommandError, match="no demo here"):
        demo_code_output()
    alice = make_staff("alice", "administrator")  # an authenticator the demo did not make
    (tmp_path / "demo-credentials.json").write_text('{"operator": "alice", "password": "x"}')
    with pytest.raises(CommandError, match="no authenticator made by the demo"):
        demo_code_output()
    assert TOTPDevice.objects.get(user=alice).name != second_factor.DEMO_DEVICE


def test_demo_code_prints_the_code_the_demo_operator_signs_in_with(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.DATA_DIR = tmp_path
    demo.seed()
    creds = _credentials(tmp_path / "demo-credentials.json")
    monkeypatch.setattr(demo_code, "on_the_demo_database", lambda: True)
    code = demo_code_output()
    assert re.fullmatch(r"\d{6}", code)
    client = password_step(creds["operator"], creds["password"])
    assert code_step(client, code)["Location"] == reverse("console:dashboard")
    assert verified(client)


# Django's admin ----------------------------------------------------------------------------


def test_the_admin_refuses_a_session_past_the_password_only() -> None:
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    TOTPDevice.objects.create(user=root, name="authenticator", confirmed=True)
    client = Client()
    client.force_login(root)
    for url in ("/admin/", "/admin/accounts/user/", f"/admin/accounts/user/{root.pk}/change/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), url
    response = client.get("/admin/login/?next=/admin/accounts/user/")
    assert response["Location"] == "/console/verify/?next=%2Fadmin%2Faccounts%2Fuser%2F"
    response = client.post("/console/verify/", {"code": current_code(root), "next": "/admin/accounts/user/"})
    assert response["Location"] == "/admin/accounts/user/"
    assert client.get("/admin/accounts/user/").status_code == 200


def test_the_admin_signs_out_staff_idle_too_long(admin_client: Client, settings: Any) -> None:
    settings.SMMPANEL_STAFF_IDLE_MINUTES = 30
    assert admin_client.get("/admin/").status_code == 200
    assert abs(admin_client.session[SEEN] - time.time()) < 60
    session = admin_client.session
    session[SEEN] = time.time() - 31 * 60
    session.save()
    response = admin_client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert SESSION_KEY not in admin_client.session


def test_the_admin_shows_the_audit_log_and_nobody_can_change_it(admin_client: Client) -> None:
    record = staff_accounts.create("nina", "support") and AuditRecord.objects.get()
    base = "/admin/accounts/auditrecord/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(f"{base}{record.pk}/change/").status_code == 200  # to read
    assert admin_client.get(f"{base}add/").status_code == 403
    response = admin_client.post(f"{base}{record.pk}/change/", {"note": "rewritten"})
    assert response.status_code == 403
    assert admin_client.post(f"{base}{record.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(base, {"action": "delete_selected", "_selected_action": [record.pk]})
    assert AuditRecord.objects.get().note == "command line"


def test_the_admin_has_no_page_for_authenticators_or_recovery_codes(admin_client: Client) -> None:
    for path in ("/admin/otp_totp/totpdevice/", "/admin/otp_static/staticdevice/"):
        assert admin_client.get(path).status_code == 404


def test_the_audit_log_pages_older_records_and_keeps_the_filter() -> None:
    ada = make_staff("ada", "administrator")
    for n in range(55):
        audit.record(ada, "provider.test", object_type="provider", object_id=n)
    audit.record(ada, "gateway.update")
    client = signed_in(ada)
    first = client.get(reverse("console:audit"), {"action": "provider"})
    assert len(list(first.context["page"])) == 50
    assert "?action=provider&amp;page=2" in first.content.decode()  # "Older", filter kept
    second = client.get(reverse("console:audit"), {"action": "provider", "page": 2})
    assert len(list(second.context["page"])) == 5  # the sign-in's own record is not "provider"
    assert "?action=provider&amp;page=1" in second.content.decode()
