"""The console's door (console/guard.py): only staff with a role, past the second factor, not idle,
and only to what their role opens; the audit log records and is never changed."""

import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from staff import PASSWORD, code_for, current_code, make_staff, signed_in

from smmpanel.accounts import audit
from smmpanel.accounts.models import AuditRecord, User
from smmpanel.console.guard import SEEN
from smmpanel.console.roles import CAPABILITIES, allows

pytestmark = pytest.mark.django_db


def test_a_visitor_is_sent_to_the_staff_sign_in() -> None:
    response = Client().get(reverse("console:dashboard"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('console:login')}?next=%2Fconsole%2F"


def test_a_signed_in_customer_is_refused_and_told_why() -> None:
    customer = User.objects.create_user("carol", password=PASSWORD)
    client = Client()
    client.force_login(customer)
    response = client.get(reverse("console:dashboard"))
    assert response.status_code == 403
    assert "for the panel&#x27;s staff" in response.content.decode()


def test_a_customer_cannot_pass_the_staff_sign_in() -> None:
    User.objects.create_user("carol", password=PASSWORD)
    response = Client().post(reverse("console:login"), {"username": "carol", "password": PASSWORD})
    assert response.status_code == 200
    assert "not a member of the panel" in response.content.decode()
    assert AuditRecord.objects.get().action == "sign_in.refused"


def test_staff_past_the_password_only_reach_the_second_step() -> None:
    alice = make_staff("alice", "administrator")
    client = Client()
    response = client.post(reverse("console:login"), {"username": "alice", "password": PASSWORD})
    assert response["Location"].startswith(reverse("console:verify"))
    assert client.get(reverse("console:audit"))["Location"].startswith(reverse("console:verify"))
    response = client.post(
        reverse("console:verify"), {"code": current_code(alice), "next": "/console/audit/"}
    )
    assert response["Location"] == "/console/audit/"
    assert client.get(reverse("console:audit")).status_code == 200
    actions = list(AuditRecord.objects.order_by("id").values_list("action", "actor_name", "role"))
    assert actions == [
        ("sign_in.password", "alice", "administrator"),
        ("sign_in.second_factor", "alice", "administrator"),
    ]


def test_the_second_step_never_sends_elsewhere_than_the_console() -> None:
    alice = make_staff("alice", "administrator")
    client = Client()
    client.post(reverse("console:login"), {"username": "alice", "password": PASSWORD})
    response = client.post(
        reverse("console:verify"), {"code": current_code(alice), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("console:dashboard")


def test_a_member_of_staff_idle_too_long_is_signed_out(settings: Any) -> None:
    settings.SMMPANEL_STAFF_IDLE_MINUTES = 30
    client = signed_in(make_staff("alice", "administrator"))
    assert client.get(reverse("console:dashboard")).status_code == 200
    session = client.session
    session[SEEN] = time.time() - 31 * 60
    session.save()
    response = client.get(reverse("console:dashboard"))
    assert response["Location"].startswith(reverse("console:login"))
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("role", ["administrator", "support", "finance"])
def test_the_audit_log_opens_for_administrators_only(role: str) -> None:
    client = signed_in(make_staff("sam", role))
    response = client.get(reverse("console:audit"))
    assert response.status_code == (200 if role == "administrator" else 403)
    if role != "administrator":
        assert "Nothing was changed" in response.content.decode()


def test_every_capability_is_held_by_the_administrator_and_an_unknown_one_by_nobody() -> None:
    assert all(allows("administrator", name) for name in CAPABILITIES)
    assert not allows("administrator", "no_such_capability")
    assert not allows("", "dashboard")


def test_the_menu_shows_only_what_the_role_opens() -> None:
    page = signed_in(make_staff("sam", "support")).get(reverse("console:dashboard")).content.decode()
    assert reverse("console:audit") not in page
    page = signed_in(make_staff("ada", "administrator")).get(reverse("console:dashboard")).content.decode()
    assert reverse("console:audit") in page


def test_audit_records_cannot_be_changed_or_deleted() -> None:
    record = audit.record(None, "sign_in.refused", actor_name="mallory", address="203.0.113.9")
    record.note = "rewritten"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        AuditRecord.objects.filter(pk=record.pk).update(note="rewritten")
    with pytest.raises(PermissionError):
        AuditRecord.objects.all().delete()
    assert AuditRecord.objects.get().note == ""


def test_the_audit_log_filters_by_person_object_and_date() -> None:
    ada = make_staff("ada", "administrator")
    audit.record(ada, "order.mark_completed", object_type="order", object_id=7, before={"status": "pending"})
    audit.record(ada, "order.resend", object_type="order", object_id=8)
    audit.record(None, "sign_in.refused", actor_name="mallory")
    client = signed_in(ada)
    page = client.get(reverse("console:audit"), {"object_type": "order", "object_id": "7"}).content.decode()
    assert "order.mark_completed" in page and "order.resend" not in page
    page = client.get(reverse("console:audit"), {"person": "mallory"}).content.decode()
    assert "sign_in.refused" in page and "order.resend" not in page
    page = client.get(reverse("console:audit"), {"since": "2999-01-01"}).content.decode()
    assert "Nothing recorded matches." in page


def test_the_setup_page_shows_a_qr_code_and_the_key_and_a_first_code_confirms_it() -> None:
    bea = User.objects.create_user("bea", password=PASSWORD, is_staff=True, staff_role="support")
    client = Client()
    client.post(reverse("console:login"), {"username": "bea", "password": PASSWORD})
    page = client.get(reverse("console:setup")).content.decode()
    assert 'src="data:image/svg+xml' in page
    assert client.get(reverse("console:dashboard"))["Location"].startswith(reverse("console:verify"))
    response = client.post(reverse("console:setup"), {"code": "000000"})
    assert "That code is wrong" in response.content.decode()
    device = TOTPDevice.objects.get(user=bea, confirmed=False)
    response = client.post(reverse("console:setup"), {"code": code_for(device)})
    assert "Too many wrong codes in a row" in response.content.decode()  # a wrong code slows guessing
    device.throttle_reset()  # as a few seconds later
    response = client.post(reverse("console:setup"), {"code": code_for(device)})
    assert "Your recovery codes" in response.content.decode()
    assert client.get(reverse("console:dashboard")).status_code == 200


# The console's pages that open before the guard: the sign-in steps themselves.
OPEN = {"login", "verify", "setup", "logout", "welcome"}


def console_urls() -> list[tuple[str, str]]:
    """Every console URL, by name, with made-up arguments (every page and action is listed)."""
    from django.urls import URLPattern, get_resolver

    found = []
    for pattern in get_resolver("smmpanel.console.urls").url_patterns:
        assert isinstance(pattern, URLPattern) and pattern.name
        if pattern.name in OPEN:
            continue
        args = {
            name: (1 if converter.regex == "[0-9]+" else "x")
            for name, converter in pattern.pattern.converters.items()
        }
        found.append((pattern.name, reverse(f"console:{pattern.name}", kwargs=args)))
    return found


def test_the_list_of_console_urls_has_the_gateways_pages() -> None:
    names = {name for name, _ in console_urls()}
    assert {
        "gateways",
        "gateway_update",
        "reconcile",
        "deposit_check",
        "deposit_refund",
        "deposit_settle",
    } <= names


@pytest.mark.parametrize(("name", "url"), console_urls())
def test_every_console_url_is_guarded(name: str, url: str) -> None:
    for method in ("get", "post"):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("console:login"))
    customer = User.objects.create_user("carol", password=PASSWORD)
    client = Client()
    client.force_login(customer)
    assert client.get(url).status_code == 403 and client.post(url).status_code == 403
    assert not AuditRecord.objects.exclude(action__startswith="sign_in").exists()
