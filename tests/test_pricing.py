"""Pricing rules (catalog/pricing.py) and the ledger's rounding up to a step, with prices written
out by hand."""

from decimal import Decimal

import pytest

from smmpanel.catalog.pricing import FIXED, PERCENT, PriceRule, PriceTooLarge, margin
from smmpanel.ledger.money import up_to_step

D = Decimal


@pytest.mark.parametrize(
    ("amount", "step", "expected"),
    [
        ("1.2345", "0.01", "1.240000"),
        ("1.23", "0.01", "1.230000"),  # already on the step: unchanged
        ("1.21", "0.05", "1.250000"),
        ("1.25", "0.05", "1.250000"),
        ("0.0000001", "0.01", "0.010000"),
        ("7.01", "1", "8.000000"),
        ("0", "0.01", "0.000000"),
        ("1.0000001", "0.0000001", "1.000001"),  # a step finer than the ledger is the ledger's
    ],
)
def test_up_to_step_rounds_up_to_a_multiple(amount: str, step: str, expected: str) -> None:
    assert up_to_step(D(amount), D(step)) == D(expected)


@pytest.mark.parametrize(
    ("kind", "markup", "step", "cost", "expected"),
    [
        (PERCENT, "40", "0.01", "1.00", "1.40"),
        (PERCENT, "40", "0.01", "0.333", "0.47"),  # 0.4662 up to 0.47
        (PERCENT, "40", "0.05", "0.333", "0.50"),
        (PERCENT, "0", "0.01", "2.005", "2.01"),
        (PERCENT, "12.5", "1", "10", "12"),  # 11.25 up to 12
        (FIXED, "0.25", "0.01", "1.10", "1.35"),
        (FIXED, "0.25", "0.1", "1.111", "1.40"),  # 1.361 up to 1.4
        (FIXED, "0", "0.01", "0.001", "0.01"),
    ],
)
def test_each_rule_and_step(kind: str, markup: str, step: str, cost: str, expected: str) -> None:
    assert PriceRule(kind, D(markup), D(step)).price_for(D(cost)) == D(expected)


def test_a_price_past_the_largest_amount_is_refused() -> None:
    with pytest.raises(PriceTooLarge):
        PriceRule(PERCENT, D(100), D("0.01")).price_for(D("600000000"))


@pytest.mark.parametrize(
    ("kind", "markup", "step"), [("double", "1", "0.01"), (PERCENT, "-1", "0.01"), (FIXED, "1", "0")]
)
def test_a_rule_that_makes_no_sense_is_refused(kind: str, markup: str, step: str) -> None:
    with pytest.raises(ValueError):
        PriceRule(kind, D(markup), D(step))


def test_margin_in_amount_and_percent_of_the_price() -> None:
    assert margin(D("1.40"), D("1.00")) == (D("0.40"), D("28.6"))
    assert margin(D("1.00"), D("1.20")) == (D("-0.20"), D("-20.0"))
    assert margin(D("1.00"), None) == (None, None)
    assert margin(D("0"), D("0.5")) == (D("-0.5"), None)
