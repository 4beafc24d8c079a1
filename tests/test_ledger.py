"""The ledger is the truth: every balance change is one entry, and the check finds lies."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from smmpanel.accounts.models import ApiKey, hash_api_key
from smmpanel.ledger import accounts
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.ledger.money import MAX_AMOUNT


def post(customer, amount, reference):
    with transaction.atomic():
        return ledger.post(customer.user.pk, Decimal(amount), "adjustment", reference)


def test_post_changes_the_balance_and_records_balance_after(alice):
    assert post(alice, "-10.5", "t:1") == Decimal("89.5")
    entry = LedgerEntry.objects.get(reference="t:1")
    assert (entry.amount, entry.balance_after, entry.user_id) == (
        Decimal("-10.5"),
        Decimal("89.5"),
        alice.user.pk,
    )
    assert alice.balance() == Decimal("89.5")


def test_a_debit_beyond_the_balance_changes_nothing(alice):
    with pytest.raises(ledger.InsufficientFunds):
        post(alice, "-100.000001", "t:1")
    assert alice.balance() == Decimal("100")
    assert not LedgerEntry.objects.filter(reference="t:1").exists()


def test_the_whole_balance_can_be_spent(alice):
    assert post(alice, "-100", "t:1") == Decimal("0")


def test_a_reference_is_used_once(alice):
    post(alice, "-1", "order:1:charge")
    with pytest.raises(ledger.DuplicateEntry):
        post(alice, "-1", "order:1:charge")
    assert alice.balance() == Decimal("99")
    assert LedgerEntry.objects.filter(reference="order:1:charge").count() == 1


def test_a_duplicate_inside_a_larger_transaction_leaves_it_usable(alice):
    with transaction.atomic():
        ledger.post(alice.user.pk, Decimal("-1"), "adjustment", "t:1")
        with pytest.raises(ledger.DuplicateEntry):
            ledger.post(alice.user.pk, Decimal("-1"), "adjustment", "t:1")
        ledger.post(alice.user.pk, Decimal("-2"), "adjustment", "t:2")
    assert alice.balance() == Decimal("97")


@pytest.mark.django_db(transaction=True)
def test_post_refuses_to_run_outside_a_transaction(alice):
    with pytest.raises(RuntimeError, match=r"^ledger\.post must run inside transaction\.atomic\(\)$"):
        ledger.post(alice.user.pk, Decimal("1"), "adjustment", "t:1")
    assert not LedgerEntry.objects.filter(reference="t:1").exists()


def test_many_small_amounts_add_up_exactly(alice):
    # On SQLite the column is a float: the balance must still be exact.
    for n in range(200):
        post(alice, "0.000001" if n % 2 else "0.1", f"t:{n}")
    assert alice.balance() == Decimal("100") + Decimal("0.1") * 100 + Decimal("0.000001") * 100
    assert list(ledger.mismatches()) == []


def test_entries_are_append_only(alice):
    post(alice, "1", "t:1")
    entry = LedgerEntry.objects.get(reference="t:1")
    entry.amount = Decimal("1000")
    with pytest.raises(ValueError, match="^ledger entries are append-only$"):
        entry.save()
    with pytest.raises(ValueError, match="^ledger entries are append-only$"):
        entry.delete()


def test_check_ledger_passes_when_balances_match(alice, bob, capsys):
    post(alice, "-3.333333", "t:1")
    call_command("check_ledger")
    assert capsys.readouterr().out == "ledger OK: every balance equals the sum of its entries\n"


def test_check_ledger_catches_a_tampered_balance(alice, bob, capsys):
    Account.objects.filter(pk=bob.user.pk).update(balance=Decimal("500"))
    with pytest.raises(CommandError, match="1 customer"):
        call_command("check_ledger")
    err = capsys.readouterr().err
    assert "bob" in err and "balance 500.000000 but ledger sum 5.000000 (difference 495.000000)" in err
    assert "alice" not in err


def test_check_ledger_catches_an_entry_without_its_balance_change(alice):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_ledgerentry (user_id, kind, amount, balance_after, memo, reference, "
            "created_at) VALUES (%s, 'deposit', 7, 107, '', 'forged', %s)",
            [alice.user.pk, connection.ops.adapt_datetimefield_value(alice.user.date_joined)],
        )
    assert [m.username for m in ledger.mismatches()] == ["alice"]


def test_a_balance_can_never_leave_its_range_in_the_database(alice):
    """Down to -MAX_AMOUNT (a charge-back may take a balance below zero, nothing else: the
    ledger's conditional update keeps every other entry at zero or above)."""
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=alice.user.pk).update(balance=Decimal("-1000000000"))


def test_a_debit_below_zero_is_refused_unless_it_is_a_charge_back(alice):
    for kind in ("charge", "refund", "adjustment", "fee", "deposit_refund"):
        with pytest.raises(ledger.InsufficientFunds), transaction.atomic():
            ledger.post(alice.user.pk, Decimal("-100.000001"), kind, f"too-much-{kind}")
    with transaction.atomic():
        assert ledger.post(alice.user.pk, Decimal("-100.000001"), "chargeback", "dispute") == Decimal(
            "-0.000001"
        )
    assert [m.username for m in ledger.mismatches()] == []


def test_a_duplicate_without_savepoint_fails_the_whole_transaction(alice):
    from django.db import IntegrityError

    post(alice, "-1", "t:dup")
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger.post(alice.user.pk, Decimal("-1"), "adjustment", "t:dup", savepoint=False)
    assert alice.balance() == Decimal("99")


def test_an_integrity_error_other_than_the_reference_is_not_a_duplicate(alice):
    # A refund that fails on any other constraint must fail loudly: reported as a duplicate it
    # would read as "refunded before" and the customer would silently lose the refund.
    # memo=None (NOT NULL) stands for any violation that is not the reference's uniqueness.
    from django.db import IntegrityError

    with transaction.atomic():
        with pytest.raises(IntegrityError):
            ledger.post(alice.user.pk, Decimal("5"), "refund", "order:1:refund", memo=None)
        # Only this call was rolled back: the same refund, written properly, still goes through.
        assert ledger.post(alice.user.pk, Decimal("5"), "refund", "order:1:refund") == Decimal("105")
    assert alice.balance() == Decimal("105")
    assert LedgerEntry.objects.filter(reference="order:1:refund").count() == 1


def test_balance_of_reads_the_account_and_is_zero_before_any_entry(alice, django_user_model):
    newcomer = django_user_model.objects.create_user("newcomer")
    assert ledger.balance_of(newcomer.pk) == Decimal("0")
    assert ledger.balance_of(alice.user.pk) == Decimal("100")
    post(alice, "-2.5", "t:1")
    assert ledger.balance_of(alice.user.pk) == Decimal("97.5")


def test_an_account_cannot_be_saved(alice):
    account = Account.objects.get(pk=alice.user.pk)
    account.balance = Decimal("1000")
    with pytest.raises(ValueError, match="^a balance changes only through smmpanel.ledger.services.post$"):
        account.save()
    assert alice.balance() == Decimal("100")


def test_the_admin_shows_entries_but_never_adds_changes_or_deletes_them(alice, admin_client):
    post(alice, "1", "t:1")
    entry = LedgerEntry.objects.get(reference="t:1")
    base = "/admin/ledger/ledgerentry/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{entry.pk}/change/", {"amount": "1000"}).status_code == 403
    assert admin_client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("1")


def test_sums_stay_exact_beyond_what_a_float_holds(django_user_model):
    # 20 balances at the maximum: 19999999999.99998 has more digits than a float keeps.
    top = Decimal("999999999.999999")
    for n in range(20):
        user = django_user_model.objects.create(username=f"rich{n}")
        with transaction.atomic():
            ledger.post(user.pk, top, "deposit", f"t:{n}")
    deposits = LedgerEntry.objects.filter(kind="deposit", reference__startswith="t:")
    assert ledger.exact_sums(deposits, "kind") == {"deposit": top * 20}
    assert list(ledger.mismatches()) == []


def test_a_mismatch_names_its_customer(alice, bob):
    Account.objects.filter(pk=bob.user.pk).update(balance=Decimal("7"))
    [mismatch] = ledger.mismatches()
    assert (mismatch.user_id, mismatch.username, mismatch.balance, mismatch.ledger_sum) == (
        bob.user.pk,
        "bob",
        Decimal("7"),
        Decimal("5"),
    )


def test_an_entry_without_a_memo_stores_an_empty_one(alice):
    post(alice, "-1", "t:1")
    assert LedgerEntry.objects.get(reference="t:1").memo == ""


def test_a_duplicate_names_its_reference(alice):
    post(alice, "-1", "order:7:charge")
    with pytest.raises(ledger.DuplicateEntry) as refused:
        post(alice, "-1", "order:7:charge")
    assert refused.value.args == ("order:7:charge",)


def test_the_largest_debit_empties_the_largest_balance(alice):
    post(alice, str(MAX_AMOUNT - 100), "t:fill")
    assert post(alice, str(-MAX_AMOUNT), "t:all") == 0


def test_a_debit_before_any_entry_opens_the_account_at_zero_and_is_refused(django_user_model):
    newcomer = django_user_model.objects.create_user("newcomer", password="x")
    with pytest.raises(ledger.InsufficientFunds), transaction.atomic():
        ledger.post(newcomer.pk, Decimal("-1"), "adjustment", "t:1")
    assert ledger.balance_of(newcomer.pk) == 0
    assert not LedgerEntry.objects.filter(user=newcomer).exists()


def test_a_credit_past_the_largest_balance_is_refused_as_the_limit(alice):
    with pytest.raises(ledger.BalanceLimit):
        post(alice, str(MAX_AMOUNT), "t:1")
    assert alice.balance() == Decimal("100")


@pytest.mark.parametrize(
    ("typed", "code", "message"),
    [
        ("1000000000000000", "range", f"Enter an amount between -{MAX_AMOUNT} and {MAX_AMOUNT}."),
        ("1.2345678", "invalid", "Enter an amount with at most 6 decimal places, such as 25 or -12.50."),
        ("ten", "invalid", "Enter an amount with at most 6 decimal places, such as 25 or -12.50."),
        ("0", "zero", "Enter an amount other than zero."),
    ],
)
def test_the_adjust_form_says_why_it_refuses_an_amount(typed, code, message):
    from smmpanel.ledger.admin import AdjustBalanceForm

    form = AdjustBalanceForm(data={"amount": typed, "memo": "why"})
    assert not form.is_valid()
    [error] = form.errors.as_data()["amount"]
    assert (error.code, error.messages) == (code, [message])


def test_the_adjust_form_takes_a_signed_amount():
    from smmpanel.ledger.admin import AdjustBalanceForm

    form = AdjustBalanceForm(data={"amount": "-12.50", "memo": ""})
    assert form.is_valid() and form.cleaned_data["amount"] == Decimal("-12.5")


# Opening an account, an operator's adjustment (ledger.accounts) ---------------------------


def test_an_account_opened_with_a_name_only_is_a_customer_with_nothing_yet(db):
    user = accounts.open_account("newcomer")
    assert (user.email, user.is_staff, ledger.balance_of(user.pk)) == ("", False, Decimal("0"))
    assert not LedgerEntry.objects.filter(user=user).exists()
    assert not ApiKey.objects.filter(user=user).exists()


def test_an_opening_balance_is_one_deposit_named_for_its_account(db):
    user = accounts.open_account("carol", email="carol@example.com", balance=Decimal("12.5"))
    [entry] = LedgerEntry.objects.filter(user=user)
    assert (entry.kind, entry.amount, entry.reference, entry.memo) == (
        "deposit",
        Decimal("12.5"),
        f"user:{user.pk}:opening-balance",
        "Opening balance",
    )
    assert (user.email, ledger.balance_of(user.pk)) == ("carol@example.com", Decimal("12.5"))


def test_a_new_customer_gets_one_api_key_named_default(db):
    user, raw = accounts.create_customer("carol")
    [key] = ApiKey.objects.filter(user=user)
    assert (key.name, key.key_hash) == ("default", hash_api_key(raw))
    assert (user.email, user.is_staff) == ("", False)


def test_an_adjustment_without_a_memo_reads_adjustment(alice):
    assert accounts.credit(alice.user, Decimal("-2"), memo="") == Decimal("98")
    entry = LedgerEntry.objects.filter(user=alice.user).latest("id")
    assert (entry.kind, entry.amount, entry.memo) == ("adjustment", Decimal("-2"), "Adjustment")
    assert entry.actor is None
    assert entry.reference.startswith("adjustment:")
