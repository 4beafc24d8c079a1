"""The `smmpanel` command line: user management, the demo seed, the ledger check."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smmpanel.accounts.models import ApiKey, User, hash_api_key
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.management.commands.user import Command as UserCommand
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches


def run(*args, capsys):
    call_command(*args)
    return capsys.readouterr().out


def test_user_create_prints_the_key_once_and_stores_its_hash(db, capsys):
    out = json.loads(
        run("user", "create", "carol", "--email", "c@example.com", "--balance", "12.5", capsys=capsys)
    )
    assert out["username"] == "carol"
    user = User.objects.get(username="carol")
    assert user.balance == Decimal("12.5") and user.email == "c@example.com" and not user.is_staff
    key = ApiKey.objects.get(user=user)
    assert key.key_hash == hash_api_key(out["api_key"]) != out["api_key"]
    assert not ApiKey.objects.filter(key_hash=out["api_key"]).exists()
    assert LedgerEntry.objects.get(user=user).kind == "deposit"


def test_user_create_staff(db, capsys):
    run("user", "create", "op", "--staff", capsys=capsys)
    assert User.objects.get(username="op").is_staff


def test_user_create_with_a_name_only_opens_an_empty_customer_account(db, capsys):
    out = json.loads(run("user", "create", "  dave  ", capsys=capsys))
    dave = User.objects.get(username="dave")
    assert out["username"] == "dave"
    assert (dave.email, dave.is_staff, dave.balance) == ("", False, Decimal("0"))
    assert not LedgerEntry.objects.filter(user=dave).exists()


@pytest.mark.parametrize(
    ("balance", "refusal"),
    [
        ("abc", "'abc' is not an amount like 10 or 12.50"),
        ("1e3", "'1e3' is not an amount like 10 or 12.50"),
        ("-5", "--balance cannot be negative"),
    ],
)
def test_user_create_refuses_a_bad_balance(db, balance, refusal):
    with pytest.raises(CommandError) as refused:
        call_command("user", "create", "dave", "--balance", balance)
    assert refused.value.args == (refusal,)
    assert not User.objects.filter(username="dave").exists()


@pytest.mark.parametrize(
    ("name", "refusal"), [("alice", "user 'alice' exists already"), ("  ", "a name is required")]
)
def test_user_create_refuses_an_existing_or_empty_name(alice, name, refusal):
    with pytest.raises(CommandError) as refused:
        call_command("user", "create", name)
    assert refused.value.args == (refusal,)
    assert User.objects.count() == 1


def test_user_help_says_what_each_subcommand_and_option_is(capsys):
    parser = UserCommand().create_parser("smmpanel", "user")
    for subcommand in ([], ["create"], ["credit"]):
        with pytest.raises(SystemExit):
            parser.parse_args([*subcommand, "--help"])
    shown = " ".join(capsys.readouterr().out.split())  # as one line, however argparse wraps it
    for words in (
        "create Create a customer and print its API key as JSON.",
        "credit Add AMOUNT (negative to take) to a balance.",
        "usage: smmpanel user create [-h] [--email EMAIL] [--balance BALANCE] [--staff]",
        "--balance BALANCE Opening balance (a ledger deposit).",
        "--staff An operator (console access).",
        "usage: smmpanel user credit [-h] [--memo MEMO] [--by OPERATOR]",
        "--by OPERATOR The operator (a staff username) the entry records.",
    ):
        assert words in shown


def test_user_credit_is_a_ledger_adjustment(alice, capsys):
    out = run("user", "credit", "alice", "2.25", "--memo", "bank transfer 42", capsys=capsys)
    assert out == "alice: balance 102.250000\n"
    entry = LedgerEntry.objects.filter(user=alice.user).latest("id")
    assert (entry.kind, entry.amount, entry.memo) == ("adjustment", Decimal("2.25"), "bank transfer 42")
    assert list(mismatches()) == []


def test_user_credit_records_the_operator_who_made_it(alice, capsys):
    operator = User.objects.create_user("olga", is_staff=True)
    run("user", "credit", "alice", "5", "--memo", "goodwill", "--by", "olga", capsys=capsys)
    entry = LedgerEntry.objects.filter(user=alice.user).latest("id")
    assert (entry.amount, entry.actor) == (Decimal("5"), operator)
    run("user", "credit", "alice", "1", capsys=capsys)  # no --by: nobody known, nobody recorded
    entry = LedgerEntry.objects.filter(user=alice.user).latest("id")
    assert (entry.actor, entry.memo) == (None, "Adjustment")  # and no --memo: what it is


@pytest.mark.parametrize(
    ("by", "refusal"), [("nobody", "no user named 'nobody'"), ("bob", "'bob' is not an operator (staff)")]
)
def test_user_credit_by_someone_not_an_operator_changes_nothing(alice, bob, by, refusal):
    with pytest.raises(CommandError) as refused:
        call_command("user", "credit", "alice", "5", "--by", by)
    assert refused.value.args == (refusal,)
    assert alice.balance() == Decimal("100")


def test_user_credit_refuses_an_operator_adjusting_their_own_balance(db):
    User.objects.create_user("olga", is_staff=True)
    with pytest.raises(CommandError) as refused:
        call_command("user", "credit", "olga", "5", "--by", " olga ")
    assert refused.value.args == ("olga cannot adjust their own balance: another operator must",)
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("amount", "refusal"),
    [
        ("-100.01", "alice's balance cannot cover -100.010000"),
        ("999999900", "alice's balance would pass 999999999.999999"),
        ("lots", "'lots' is not an amount like 10 or 12.50"),
    ],
)
def test_user_credit_says_why_it_changes_nothing(alice, amount, refusal):
    with pytest.raises(CommandError) as refused:
        call_command("user", "credit", "alice", amount)
    assert refused.value.args == (refusal,)
    assert alice.balance() == Decimal("100") and list(mismatches()) == []


def test_user_credit_unknown_user(db):
    with pytest.raises(CommandError) as refused:
        call_command("user", "credit", "nobody", "1")
    assert refused.value.args == ("no user named 'nobody'",)


def test_seed_demo_has_a_service_of_every_type_and_is_idempotent(db, capsys):
    first = json.loads(run("seed_demo", "--json", capsys=capsys))
    second = json.loads(run("seed_demo", "--json", capsys=capsys))
    assert set(first["services"]) == {label for _value, label in ServiceType.choices}
    assert first["services"] == second["services"]
    assert first["api_key"] != second["api_key"]  # a fresh key each time
    assert Service.objects.count() == len(ServiceType.choices)
    demo = User.objects.get(username=first["username"])
    assert demo.balance == Decimal("1000")
    assert Service.objects.filter(dripfeed=True).exists()
    assert Service.objects.filter(refill=True).exists()
    assert Service.objects.filter(cancel=True).exists()


def test_the_console_script_runs_dashed_commands(tmp_path: Path):
    """`smmpanel` is installed as a script and maps `check-ledger` to `check_ledger`."""
    script = Path(sys.executable).with_name("smmpanel")
    env = {**os.environ, "SMMPANEL_DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    subprocess.run([script, "migrate", "-v0"], env=env, check=True, timeout=120)
    seeded = subprocess.run(
        [script, "seed-demo", "--json"], env=env, check=True, timeout=60, capture_output=True, text=True
    )
    assert json.loads(seeded.stdout)["username"] == "demo"
    check = subprocess.run([script, "check-ledger"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "ledger OK" in check.stdout
    bad = subprocess.run(
        [script, "user", "credit", "demo", "lots"], env=env, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode != 0 and "not an amount" in bad.stderr
