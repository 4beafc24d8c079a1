import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from smmpanel.ledger import money
from smmpanel.ledger.money import (
    MAX_AMOUNT,
    ZERO,
    MoneyError,
    charge_for,
    display,
    normalised,
    parse_amount,
    price_validators,
    refund_for,
    to_money,
)


@pytest.mark.parametrize(
    ("rate", "units", "expected"),
    [
        ("0.90", 100, "0.090000"),
        ("1.02", 500, "0.510000"),
        ("0.27819", 1000, "0.278190"),
        ("0.0000005", 1000, "0.000001"),  # half-up at the 6th place
        ("0.0000004", 1000, "0.000000"),
        ("1.234567", 1, "0.001235"),  # 0.001234567 rounds up
        ("0.001", 1, "0.000001"),  # 0.000001 exactly
        ("0.0005", 1, "0.000001"),  # 0.0000005 is a half: up
        ("12", 3333, "39.996000"),
    ],
)
def test_charge_is_rate_times_units_over_1000_rounded_half_up(rate, units, expected):
    assert charge_for(Decimal(rate), units) == Decimal(expected)


def test_package_charge_is_the_flat_rate():
    assert charge_for(Decimal("4.5"), 1, package=True) == Decimal("4.500000")


def test_drip_feed_charge_covers_every_run():
    # 3 runs of 1000 at 0.90 per 1000.
    assert charge_for(Decimal("0.90"), 1000 * 3) == Decimal("2.700000")


@pytest.mark.parametrize(
    ("charge", "remains", "quantity", "expected"),
    [
        ("0.090000", 50, 100, "0.045000"),
        ("1.000000", 1, 3, "0.333333"),  # rounded down, never up
        ("1.000000", 2, 3, "0.666666"),
        ("0.000001", 1, 2, "0.000000"),
        ("5.000000", 0, 10, "0.000000"),
        ("5.000000", 10, 10, "5.000000"),
        ("5.000000", 15, 10, "5.000000"),  # a provider over-reporting remains
    ],
)
def test_refund_is_rounded_down(charge, remains, quantity, expected):
    assert refund_for(Decimal(charge), remains, quantity) == Decimal(expected)


def test_refunds_of_an_order_never_exceed_its_charge():
    charge = Decimal("1.000000")
    thirds = [refund_for(charge, 1, 3) for _ in range(3)]
    assert sum(thirds) <= charge


@pytest.mark.parametrize(
    ("amount", "places", "expected"),
    [("100.842915", 5, "100.84292"), ("100.845", 2, "100.85"), ("0.27815", 4, "0.2782"), ("3", 2, "3.00")],
)
def test_display_rounds_half_up(amount, places, expected):
    assert display(Decimal(amount), places) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("0.90", "0.9"), ("12.000", "12"), ("10", "10"), ("0", "0"), ("-0", "0"), ("-0.000", "0")],
)
def test_rates_are_printed_without_trailing_zeros(rate, expected):
    assert normalised(Decimal(rate)) == expected


def test_database_floats_become_exact_decimals():
    assert to_money(0.1 + 0.2) == Decimal("0.300000")
    assert to_money(123456789.123456) == Decimal("123456789.123456")


@pytest.mark.parametrize("text", ["abc", "1e3", "NaN", "Infinity", "1.0000001", ""])
def test_typed_amounts_must_be_plain_decimals(text):
    with pytest.raises(MoneyError):
        parse_amount(text)


def test_a_price_field_takes_zero_to_the_maximum_and_nothing_beyond() -> None:
    step = Decimal("0.000001")
    for validator in price_validators():
        validator(ZERO)
        validator(MAX_AMOUNT)
    for outside in (-step, MAX_AMOUNT + step):
        with pytest.raises(ValidationError):
            for validator in price_validators():
                validator(outside)


@pytest.mark.parametrize(
    ("charge", "remains", "quantity", "expected"),
    [
        ("0.5", 1, 1, "0.5"),  # one unit, undelivered: all of it
        ("0.5", -5, 100, "0"),  # a provider's negative remains refund nothing
        ("0.5", 5, 0, "0"),  # no quantity, no refund (and no division by zero)
        ("0.5", 0, 100, "0"),
    ],
)
def test_refunds_at_the_edges(charge, remains, quantity, expected):
    assert refund_for(Decimal(charge), remains, quantity) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12,5", "not an amount: '12,5'"),
        ("inf", "not an amount: 'inf'"),
        ("1e3", "not an amount: '1e3'"),
        ("1.1234567", "at most 6 decimal places: '1.1234567'"),
    ],
)
def test_a_refused_amount_says_what_was_typed(text, message):
    with pytest.raises(MoneyError, match=f"^{re.escape(message)}$"):
        parse_amount(text)


@pytest.mark.parametrize(
    ("amount", "reading", "shown"),
    [
        ("0.12345", money.TOTAL, "0.12"),  # only a charge below 1 keeps four places
        ("0.12345", money.CHARGE, "0.1235"),
        ("1.23456", money.CHARGE, "1.23"),  # a charge of 1 or more reads in cents
        ("0.123456", money.RATE, "0.1235"),  # a rate: four places
        ("0.125", money.TOTAL, "0.13"),  # half-up, not the half-even of Decimal's default
        ("0.135", money.EXACT, "0.135"),
        ("0.129", money.BALANCE, "0.12"),  # a balance is cut: it is there to spend
        ("0.001", money.TOTAL, "0.001"),  # a non-zero amount never reads as zero
        ("-0.001", money.BALANCE, "-0.001"),
        ("-0", money.TOTAL, "0.00"),  # no minus zero
        ("-5", money.TOTAL, "-5.00"),  # a negative amount keeps its sign
        ("12.5", money.TOTAL, "12.50"),
    ],
)
def test_an_amount_for_a_person_to_read(amount: str, reading: str, shown: str) -> None:
    assert str(money.for_reading(Decimal(amount), reading)) == shown


def test_an_unknown_reading_is_named() -> None:
    with pytest.raises(ValueError, match=r"^no such reading of an amount: 'nope'$"):
        money.for_reading(Decimal(1), "nope")


def test_to_money_rounds_half_up_at_the_sixth_place() -> None:
    assert to_money(Decimal("0.0000005")) == Decimal("0.000001")
    assert to_money(Decimal("0.0000025")) == Decimal("0.000003")


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        ("ten", MoneyError, "not an amount: 'ten'"),
        ("NaN", MoneyError, "not an amount: 'NaN'"),
        ("1e20", money.OutOfRange, "amount out of range: '1e20'"),
    ],
)
def test_to_money_names_what_it_refuses(value: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error) as refused:
        to_money(value)
    assert str(refused.value) == message


def test_a_drip_feeds_runs_share_its_charge_cut_down_the_last_run_taking_the_rest() -> None:
    shares = [money.share_of(Decimal(1), 3, run) for run in range(3)]
    assert shares == [Decimal("0.333333"), Decimal("0.333333"), Decimal("0.333334")]  # 2/3 is cut: 0.666666
    assert sum(shares) == Decimal(1)


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [("1.000005", "0.5", "0.500003"), ("1.000015", "0.5", "0.500008"), ("3", "0.333333", "0.999999")],
)
def test_an_amount_in_another_currency_is_rounded_half_up(amount: str, rate: str, expected: str) -> None:
    assert money.convert(Decimal(amount), Decimal(rate)) == Decimal(expected)  # not Decimal's half-even


@pytest.mark.parametrize(
    ("cost", "percent", "rate"),
    [
        ("0.80", "25", "1.000000"),
        ("1", "0", "1.000000"),
        ("2", "-10", "1.800000"),
        ("0.000010", "5", "0.000011"),  # 0.0000105: half-up
        ("0.000050", "5", "0.000053"),  # 0.0000525: half-up, not half-even's 0.000052
    ],
)
def test_a_selling_rate_is_the_cost_plus_its_markup_rounded_half_up(
    cost: str, percent: str, rate: str
) -> None:
    assert money.with_markup(Decimal(cost), Decimal(percent)) == Decimal(rate)
