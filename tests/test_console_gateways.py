"""The console's gateways page: each gateway's state and settings, keys write-only (never shown
back, blank keeps, forget removes), limits, fee and bonus, names and instructions per language,
bad input refused with nothing changed, a gateway set by the environment shown so and its keys not
editable, the demo gateway never offered, every change audited without a key, and only the
roles with the `gateways` capability."""

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from played_gateway import Played, played_fixture  # noqa: F401  (the fixture `played`)
from staff import make_staff, signed_in

from smmpanel.accounts.models import AuditRecord
from smmpanel.console.gateway_forms import GatewayForm
from smmpanel.payments import gateways
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewaySetting

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("played")]

SECRET = "k3y-Never-Shown-9f2c"
MERCHANT = "merchant-77c1"
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
PAGE = "/console/gateways/"


def form(**changes: str) -> dict[str, str]:
    """The Cryptomus form as a person sends it, with `changes` (names without the prefix)."""
    data = {
        "enabled": "",
        "base_url": "",
        "min_amount": "",
        "max_amount": "",
        "fee_percent": "0",
        "fee_fixed": "0",
        "bonus_percent": "0",
        "bonus_from": "0",
        "key_merchant": "",
        "key_key": "",
        "name_en": "",
        "name_es": "",
        "instructions_en": "",
        "instructions_es": "",
        **changes,
    }
    return {f"cryptomus-{k}": v for k, v in data.items() if v is not None}


def send(client: Any, **changes: str) -> Any:
    return client.post(reverse("console:gateway_update", args=["cryptomus"]), form(**changes))


@pytest.fixture
def admin():
    return signed_in(make_staff("ada", "administrator"))


def row() -> GatewaySetting:
    return GatewaySetting.objects.get(gateway="cryptomus")


def text(response: Any) -> str:
    return response.content.decode()


def test_the_page_lists_each_gateway_with_its_state_and_never_the_demo(admin):
    saved = dict(gateways.GATEWAYS)

    class Demo(Played):
        name = "demo"

    gateways.GATEWAYS["demo"] = Demo()
    try:
        page = text(admin.get(PAGE))
    finally:
        gateways.GATEWAYS.clear()
        gateways.GATEWAYS.update(saved)
    assert 'data-gateway="bank_transfer"' in page and 'data-gateway="cryptomus"' in page
    assert 'data-gateway="demo"' not in page and "cryptomus-key_key" in page
    section = page.split('data-gateway="cryptomus"')[1].split("</section>")[0]
    assert 'data-state="off"' in section and 'data-usable="no"' in section
    assert section.count('data-key-state="not-set"') == 2
    assert admin.post(reverse("console:gateway_update", args=["demo"]), {}).status_code == 404
    assert admin.post(reverse("console:gateway_update", args=["nonesuch"]), {}).status_code == 404
    assert not GatewaySetting.objects.exists()


def test_keys_are_write_only_and_the_audit_keeps_only_whether_they_are_set(admin):
    response = send(admin, enabled="on", key_merchant=MERCHANT, key_key=SECRET)
    assert response.status_code == 302 and response["Location"].endswith("#gateway-cryptomus")
    assert row().credentials == {"merchant": MERCHANT, "key": SECRET} and row().enabled
    assert gateways.usable("cryptomus") is not None
    page = text(admin.get(PAGE))
    assert SECRET not in page and MERCHANT not in page
    section = page.split('data-gateway="cryptomus"')[1].split("</section>")[0]
    assert section.count('data-key-state="set"') == 2 and 'data-usable="yes"' in section
    (record,) = AuditRecord.objects.filter(action="gateway.update")
    assert (record.object_type, record.object_id) == ("gateway", "cryptomus")
    assert record.before == {"enabled": False, "key merchant": "not set", "key key": "not set"}
    assert record.after == {"enabled": True, "key merchant": "set", "key key": "set"}
    assert not AuditRecord.objects.filter(after__icontains=SECRET).exists()
    assert SECRET not in str(list(AuditRecord.objects.values_list("before", "after", "note")))


def test_a_blank_key_keeps_the_stored_one_and_forget_removes_it(admin):
    send(admin, key_merchant=MERCHANT, key_key=SECRET)
    send(admin, key_key="", fee_percent="2")
    assert row().credentials == {"merchant": MERCHANT, "key": SECRET} and row().fee_percent == 2
    response = send(admin, forget_key="on", fee_percent="2")
    assert response.status_code == 302 and row().credentials == {"merchant": MERCHANT}
    record = AuditRecord.objects.filter(action="gateway.update").order_by("-id").first()
    assert record is not None and record.after == {"key key": "not set"}


def test_enabling_without_every_key_is_refused_and_changes_nothing(admin):
    response = send(admin, enabled="on", key_merchant=MERCHANT)
    assert response.status_code == 400
    assert "Set every key before enabling it; missing: Payment key." in text(response)
    assert not GatewaySetting.objects.exists() and not AuditRecord.objects.exists()


def test_limits_fee_bonus_names_and_instructions_are_saved_exactly(admin):
    response = send(
        admin,
        base_url="http://127.0.0.1:8123/",
        min_amount="5",
        max_amount="2500.50",
        fee_percent="2.5",
        fee_fixed="0.30",
        bonus_percent="5",
        bonus_from="100",
        name_en="Crypto (USDT, BTC)",
        name_es="Cripto (USDT, BTC)",
        instructions_en="Pay within 60 minutes.",
        instructions_es="Pague en 60 minutos.",
    )
    assert response.status_code == 302
    config = gateways.config_for("cryptomus")
    assert config is not None
    assert (config.min_amount, config.max_amount) == (Decimal(5), Decimal("2500.5"))
    assert config.rule == base.Rule(Decimal("2.5"), Decimal("0.3"), Decimal(5), Decimal(100))
    assert config.base_url == "http://127.0.0.1:8123"
    assert config.names == {"en": "Crypto (USDT, BTC)", "es": "Cripto (USDT, BTC)"}
    assert config.instructions == {"en": "Pay within 60 minutes.", "es": "Pague en 60 minutos."}
    page = text(admin.get(PAGE))
    assert 'value="2500.5"' in page and 'value="0.3"' in page and "Pague en 60 minutos." in page
    # the same form again changes nothing and records nothing more
    count = AuditRecord.objects.count()
    again = send(
        admin,
        base_url="http://127.0.0.1:8123",
        min_amount="5",
        max_amount="2500.5",
        fee_percent="2.5",
        fee_fixed="0.3",
        bonus_percent="5",
        bonus_from="100",
        name_en="Crypto (USDT, BTC)",
        name_es="Cripto (USDT, BTC)",
        instructions_en="Pay within 60 minutes.",
        instructions_es="Pague en 60 minutos.",
    )
    assert "Nothing changed." in text(admin.get(again["Location"]))
    assert AuditRecord.objects.count() == count


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"min_amount": "50", "max_amount": "10"}, "The largest deposit must not be below the smallest."),
        ({"min_amount": "0"}, "Leave it blank, or enter an amount greater than zero."),
        ({"fee_percent": "-1"}, "Ensure this value is greater than or equal to 0."),
        ({"bonus_percent": "100.5"}, "Ensure this value is less than or equal to 100."),
        ({"fee_fixed": "1.1234567"}, "Ensure that there are no more than 6 decimal places."),
        ({"fee_fixed": "abc"}, "Enter a number."),
        ({"bonus_from": ""}, "This field is required."),
        ({"base_url": "not a url at all"}, "Enter a valid URL."),
        ({"name_en": "x" * 101}, "Ensure this value has at most 100 characters"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(admin, changes, error):
    send(admin, key_merchant=MERCHANT, key_key=SECRET, fee_percent="1")
    audits = AuditRecord.objects.count()
    response = send(admin, key_key="another-key", **changes)
    assert response.status_code == 400 and error in text(response)
    assert row().credentials["key"] == SECRET and row().fee_percent == 1
    assert AuditRecord.objects.count() == audits


def test_hostile_names_and_instructions_are_inert(admin):
    send(admin, name_en=HOSTILE, instructions_es=HOSTILE)
    page = text(admin.get(PAGE))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page


def test_a_gateway_set_by_the_environment_shows_so_and_its_keys_cannot_be_edited(admin, monkeypatch):
    GatewaySetting.objects.create(gateway="cryptomus", credentials={"key": "stored-in-the-db"})
    monkeypatch.setenv("SMMPANEL_CRYPTOMUS_MERCHANT", MERCHANT)
    monkeypatch.setenv("SMMPANEL_CRYPTOMUS_KEY", SECRET)
    page = text(admin.get(PAGE))
    section = page.split('data-gateway="cryptomus"')[1].split("</section>")[0]
    assert "set by the environment" in section and "SMMPANEL_CRYPTOMUS_KEY" in section
    assert "cryptomus-key_key" not in section and SECRET not in page and MERCHANT not in page
    assert 'data-usable="yes"' in section
    response = send(admin, key_key="typed-in-the-console", fee_percent="3")
    assert response.status_code == 302
    assert row().credentials == {"key": "stored-in-the-db"} and row().fee_percent == 3
    record = AuditRecord.objects.get(action="gateway.update")
    assert record.after == {"fee_percent": "3.0000"} or record.after == {"fee_percent": "3"}


def test_a_base_url_set_by_the_environment_is_not_edited_here(admin, monkeypatch):
    monkeypatch.setenv("SMMPANEL_CRYPTOMUS_URL", "http://127.0.0.1:9999")
    page = text(admin.get(PAGE))
    assert (
        'name="cryptomus-base_url"' in page and "disabled" in page.split('name="cryptomus-base_url"')[1][:200]
    )
    send(admin, base_url="https://elsewhere.example")
    assert row().base_url == ""


@pytest.mark.parametrize("role", ["administrator", "support", "finance"])
def test_only_administrators_and_finance_open_the_page_and_save(role):
    client = signed_in(make_staff("sam", role))
    may = role in {"administrator", "finance"}
    assert client.get(PAGE).status_code == (200 if may else 403)
    response = send(client, fee_percent="1")
    assert response.status_code == (302 if may else 403)
    assert GatewaySetting.objects.filter(gateway="cryptomus").exists() == may
    assert AuditRecord.objects.filter(action="gateway.update").exists() == may
    # The menu: a tab of the money pages (deposits, reconciliation, gateways) for those who may.
    menu = text(client.get(reverse("console:deposits" if may else "console:dashboard")))
    assert (PAGE in menu) == may


def test_saving_takes_post_only(admin):
    assert admin.get(reverse("console:gateway_update", args=["cryptomus"])).status_code == 405


def test_an_optional_key_is_not_needed_to_enable_and_the_saved_gateway_is_unfolded(admin, played):
    optional = base.Credential("login", "Login for reports", "SMMPANEL_CRYPTOMUS_LOGIN", required=False)
    played.credentials = (*Played.credentials, optional)
    response = send(admin, enabled="on", key_merchant=MERCHANT, key_key=SECRET)
    assert response.status_code == 302 and "?open=cryptomus" in response["Location"]
    assert gateways.usable("cryptomus") is not None
    page = text(admin.get(response["Location"]))
    section = page.split('data-gateway="cryptomus"')[1].split("</section>")[0]
    assert "not set (optional)" in section and '<details class="gateway-settings" open>' in section
    other = page.split('data-gateway="bank_transfer"')[1].split("</section>")[0]
    assert '<details class="gateway-settings">' in other  # the others stay folded


def test_a_key_stored_meanwhile_by_another_operator_is_kept(played):
    """The form was read before another operator stored a key: saving it starts from the keys the
    locked row holds, so a blank field keeps theirs."""
    config = gateways.config_for("cryptomus")
    assert config is not None and not config.credentials
    blank = GatewayForm(played, config, form(fee_percent="1"))
    assert blank.is_valid(), blank.errors
    assert blank.keys_after({"key": SECRET}) == {"key": SECRET}
    typed = GatewayForm(played, config, form(key_merchant=MERCHANT))
    assert typed.is_valid() and typed.keys_after({"key": SECRET}) == {"key": SECRET, "merchant": MERCHANT}
