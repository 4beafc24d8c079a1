"""All money arithmetic and rounding of the panel lives here.

Amounts are Decimal with 6 places. A charge is rounded half-up; a refund is
rounded down, so the refunds of an order never exceed its charge.
"""

import re
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.validators import BaseValidator, MaxValueValidator, MinValueValidator
from django.utils import formats

PLACES = Decimal("0.000001")
ZERO = Decimal("0.000000")
# The largest amount the panel accepts anywhere (a deposit, an adjustment, a price, a
# rate, a charge, a balance). SQLite keeps a decimal column as a binary float, which
# gives back exactly any decimal of at most 15 significant digits; with 6 places that
# leaves 9 before the point. PostgreSQL's numeric(20, 6) holds more, but one range on
# both databases keeps a panel free to move from one to the other.
MAX_AMOUNT = Decimal("999999999.999999")


class MoneyError(ValueError):
    """An amount that is not a valid money value."""


class OutOfRange(MoneyError):
    """An amount past MAX_AMOUNT either way."""


def price_validators() -> list[BaseValidator]:
    """For a rate or price field a person edits: from 0 to MAX_AMOUNT."""
    return [MinValueValidator(ZERO), MaxValueValidator(MAX_AMOUNT)]


def to_money(value: object) -> Decimal:
    """Exact Decimal with 6 places from a Decimal, int, str or a database float.

    SQLite hands DecimalField values back as floats in raw queries; their
    shortest repr is the decimal that was written (up to 15 significant digits).
    """
    if isinstance(value, float):
        value = repr(value)
    try:
        amount = Decimal(value).quantize(PLACES, rounding=ROUND_HALF_UP)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise MoneyError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    if abs(amount) > MAX_AMOUNT:
        raise OutOfRange(f"amount out of range: {value!r}")
    return amount


# Plain decimal notation: ASCII digits, a dot for decimals, a sign. No exponent and no digit
# separators: "1,000" could mean a thousand or one, and Python's Decimal would take "1_000".
_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]{1,20}(\.[0-9]+)?|[+-]?\.[0-9]+")


def parse_decimal(text: str) -> Decimal:
    """A number a person typed in plain decimal notation, exactly as typed (any number of places)."""
    text = text.strip()
    if not _PLAIN_DECIMAL.fullmatch(text):
        raise MoneyError(f"not an amount: {text!r}")
    return Decimal(text)


def within_places(amount: Decimal) -> bool:
    """True if the amount has no more decimal places than the panel keeps (6)."""
    return amount == amount.quantize(PLACES, rounding=ROUND_DOWN)


def parse_amount(text: str) -> Decimal:
    """A money amount typed by a person: plain decimal notation, at most 6 places."""
    amount = parse_decimal(text)
    if not within_places(amount):
        raise MoneyError(f"at most 6 decimal places: {text.strip()!r}")
    return to_money(amount)


def charge_for(rate: Decimal, units: int, *, package: bool = False) -> Decimal:
    """What an order costs: rate per 1000 units, or the flat rate of a package."""
    if package:
        return to_money(rate)
    return (rate * units / 1000).quantize(PLACES, rounding=ROUND_HALF_UP)


def convert(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in another currency, at `rate` units of ours for one of it, rounded half-up."""
    return (amount * rate).quantize(PLACES, rounding=ROUND_HALF_UP)


def with_markup(cost: Decimal, percent: Decimal) -> Decimal:
    """A selling rate: a cost plus a markup in percent, rounded half-up."""
    return (cost * (100 + percent) / 100).quantize(PLACES, rounding=ROUND_HALF_UP)


def up_to_step(amount: Decimal, step: Decimal) -> Decimal:
    """`amount` rounded up to a multiple of `step` (e.g. 0.01): a price set by a rule is never
    below what the rule gives. A step finer than the ledger's places is the ledger's places."""
    step = max(step, PLACES)
    return ((amount / step).to_integral_value(rounding=ROUND_CEILING) * step).quantize(PLACES)


def with_discount(rate: Decimal, percent: Decimal) -> Decimal:
    """A customer's rate: a service's rate less their discount in percent, rounded half-up."""
    return (rate * (100 - percent) / 100).quantize(PLACES, rounding=ROUND_HALF_UP)


def margin_percent(profit: Decimal, revenue: Decimal) -> Decimal | None:
    """Profit as a percent of revenue, rounded half-up to 2 places (a report's margin); None
    when there is no revenue to be a percent of."""
    if not revenue:
        return None
    return (profit * 100 / revenue).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def refund_for(charge: Decimal, remains: int, quantity: int) -> Decimal:
    """The part of a charge for the undelivered units, rounded down."""
    if quantity <= 0 or remains <= 0:
        return ZERO
    remains = min(remains, quantity)
    return (charge * remains / quantity).quantize(PLACES, rounding=ROUND_DOWN)


def share_of(charge: Decimal, parts: int, index: int) -> Decimal:
    """Part `index` (0-based) of `charge` split in `parts`: cumulative shares rounded down,
    the last taking the rest, so the parts add up to `charge` exactly (a drip-feed's runs)."""

    def upto(n: int) -> Decimal:
        return (charge * n / parts).quantize(PLACES, rounding=ROUND_DOWN)

    return charge - upto(parts - 1) if index == parts - 1 else upto(index + 1) - upto(index)


def display(amount: Decimal, places: int) -> str:
    """An amount for the wire or a page, rounded half-up to `places` decimals."""
    return str(amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


# How an amount reads on the website (docs/money.md), by what the amount is.
BALANCE = "balance"  # a customer's balance: two decimals, cut (never shown larger than it is)
TOTAL = "total"  # a total (spent, deposits, a mass order's charge): two decimals
RATE = "rate"  # a price per 1000 units or per package: up to four decimals
CHARGE = "charge"  # one charge or refund: up to four decimals below 1, else two
EXACT = "exact"  # every decimal it has: a payment to make, a limit, the operator's own pages
READINGS = (BALANCE, TOTAL, RATE, CHARGE, EXACT)


def for_reading(amount: Decimal, reading: str = TOTAL) -> Decimal:
    """`amount` rounded for a person to read, without trailing zeros past the cents.

    Half-up, but a balance is cut: what a customer sees is there to spend. A non-zero
    amount never reads as zero: one that would keeps all its decimals.
    """
    if reading not in READINGS:
        raise ValueError(f"no such reading of an amount: {reading!r}")
    amount = to_money(amount)
    places = 6 if reading == EXACT else 2
    if reading == RATE or (reading == CHARGE and abs(amount) < 1):
        places = 4
    rounding = ROUND_DOWN if reading == BALANCE else ROUND_HALF_UP
    shown = amount.quantize(Decimal(1).scaleb(-places), rounding=rounding)
    if shown.is_zero() and not amount.is_zero():
        shown = amount
    return _cents_at_least(abs(shown) if shown.is_zero() else shown)


def _cents_at_least(amount: Decimal) -> Decimal:
    """12.500000 -> 12.50, 0.045000 -> 0.045, 3 -> 3.00."""
    trimmed = amount.normalize()
    exponent = trimmed.as_tuple().exponent
    assert isinstance(exponent, int)
    return amount.quantize(Decimal(1).scaleb(min(-2, exponent)))


def normalised(amount: Decimal) -> str:
    """A rate without trailing zeros: 0.90 -> "0.9", 12.000 -> "12"."""
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def amount_text(value: Decimal | str | int | None, reading: str = TOTAL) -> str:
    """An amount as a person reads it (`for_reading`), in the active language's number format:
    12 -> "12.00", 1234.5 -> "1,234.50" ("1.234,50" in Spanish); "" for no amount."""
    if value is None or value == "":
        return ""
    shown = for_reading(to_money(value), reading)
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    return formats.number_format(shown, decimal_pos=-exponent, use_l10n=True, force_grouping=True)
