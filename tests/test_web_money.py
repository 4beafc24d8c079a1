"""How the site shows money (docs/money.md): one filter, one rule, in the reader's number format.

Balances and totals: two decimals (a balance cut, the rest half-up). A rate: up to four. One
charge or refund below 1: up to four. A non-zero amount never reads as zero.
"""

from decimal import Decimal

import pytest
from conftest import Customer
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from smmpanel.ledger.accounts import credit
from smmpanel.ledger.money import MAX_AMOUNT, for_reading
from smmpanel.web.templatetags.money import money


@pytest.mark.parametrize(
    "amount, reading, shown",
    [
        # A balance: the cents, cut, so the balance shown is always there to spend.
        ("1070.294567", "balance", "1,070.29 USD"),
        ("5.9994", "balance", "5.99 USD"),
        (str(MAX_AMOUNT), "balance", "999,999,999.99 USD"),
        ("0.004", "balance", "0.004 USD"),
        # Totals: the cents, rounded half-up.
        ("1070.294567", "total", "1,070.29 USD"),
        ("5.9994", "total", "6.00 USD"),
        ("0.125", "total", "0.13 USD"),
        ("12", "total", "12.00 USD"),
        ("0", "total", "0.00 USD"),
        ("-3.5", "total", "-3.50 USD"),
        # ... but a non-zero amount that would read 0.00 keeps what it has.
        ("0.004", "total", "0.004 USD"),
        ("0.000001", "total", "0.000001 USD"),
        # A price per 1000 or per package: up to four decimals, at least two.
        ("0.9", "rate", "0.90 USD"),
        ("1.23456", "rate", "1.2346 USD"),
        ("0.0045", "rate", "0.0045 USD"),
        ("0.00001", "rate", "0.00001 USD"),
        # One charge or refund: up to four decimals below 1, two from 1 up.
        ("0.045", "charge", "0.045 USD"),
        ("0.1206", "charge", "0.1206 USD"),
        ("0.120649", "charge", "0.1206 USD"),
        ("0.99996", "charge", "1.00 USD"),
        ("5.9994", "charge", "6.00 USD"),
        ("2.25", "charge", "2.25 USD"),
        # Limits and the operator's pages: every decimal.
        (str(MAX_AMOUNT), "exact", "999,999,999.999999 USD"),
        ("1070.294567", "exact", "1,070.294567 USD"),
        ("12.5", "exact", "12.50 USD"),
    ],
)
def test_the_rule(amount: str, reading: str, shown: str) -> None:
    assert money(Decimal(amount), reading) == shown


def test_money_is_never_rounded_through_a_float() -> None:
    assert money(Decimal("0.145"), "total") == "0.15 USD"  # a float would make it 0.14
    assert money("999999999.995") == "1,000,000,000.00 USD"


def test_spanish_separators() -> None:
    with translation.override("es"):
        assert money(Decimal("1070.294567")) == "1\xa0070,29 USD"
        assert money(Decimal("0.045"), "charge") == "0,045 USD"
        assert money(Decimal("1234.5"), "rate") == "1\xa0234,50 USD"


def test_no_amount_shows_nothing_and_an_unknown_reading_is_a_mistake() -> None:
    assert money(None) == money("") == ""
    with pytest.raises(ValueError, match="no such reading"):
        for_reading(Decimal(1), "rounded")


def test_the_filter_in_a_template() -> None:
    template = Template('{% load money %}{{ balance|money }} · {{ rate|money:"rate" }}')
    text = template.render(Context({"balance": Decimal("1070.294567"), "rate": Decimal("0.0045")}))
    assert text == "1,070.29 USD · 0.0045 USD"


@pytest.mark.parametrize(
    "language, shown",
    [("en", "1,070.29 USD"), ("es", "1\xa0070,29 USD")],
)
def test_the_top_bar_shows_cents_after_an_operators_adjustment(
    client: Client, alice: Customer, language: str, shown: str
) -> None:
    credit(alice.user, Decimal("970.295567"), memo="")  # 1070.295567: cut, not rounded up
    client.force_login(alice.user)
    text = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'title="{"Saldo" if language == "es" else "Balance"}">{shown}</a>' in text
    assert "295567" not in text and "1,070.30" not in text
