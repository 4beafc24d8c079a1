"""The dashboard's chart of daily revenue (bars) and profit (a line), drawn as plain SVG geometry
for its template: no chart library, no script, no style attribute (the console's CSP is strict).

Coordinates are computed with Decimal like the amounts they stand for, rounded to a tenth of a
unit of the drawing's viewBox."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

WIDTH = 600
HEIGHT = 200
PAD = 8  # room above the highest and below the lowest point, so a dot is never cut in half
GAP = Decimal("0.2")  # the share of a day's width left between two bars
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Day:
    day: date
    revenue: Decimal
    profit: Decimal


@dataclass(frozen=True)
class Bar:
    """One day: its revenue bar (from the zero line up, or down for a negative day) and the
    point of its profit on the line."""

    day: Day
    x: Decimal
    y: Decimal
    width: Decimal
    height: Decimal
    profit_x: Decimal
    profit_y: Decimal


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    profit_points: str  # the polyline's points: "x,y x,y ..."
    zero_y: Decimal
    top: Decimal  # the amount at the top of the drawing
    bottom: Decimal  # the amount at the bottom (0 unless a day was negative)


def _round(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def draw(days: Sequence[Day], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """The chart of `days`, oldest first, scaled so that the largest and the smallest amount (and
    zero) fit the drawing."""
    amounts = [amount for day in days for amount in (day.revenue, day.profit)]
    top, bottom = max([Decimal(0), *amounts]), min([Decimal(0), *amounts])
    span = (top - bottom) or Decimal(1)
    inner = Decimal(height - 2 * PAD)

    def y(amount: Decimal) -> Decimal:
        return _round(PAD + (top - amount) / span * inner)

    step = Decimal(width) / max(len(days), 1)
    zero = y(Decimal(0))
    bars = []
    for index, day in enumerate(days):
        left = step * index
        level = y(day.revenue)
        bars.append(
            Bar(
                day=day,
                x=_round(left + step * GAP / 2),
                y=min(level, zero),
                width=_round(step * (1 - GAP)),
                height=abs(level - zero),
                profit_x=_round(left + step / 2),
                profit_y=y(day.profit),
            )
        )
    points = " ".join(f"{bar.profit_x},{bar.profit_y}" for bar in bars)
    return Chart(width, height, bars, points, zero, top, bottom)


# --- Horizontal bars: a report by service, category, provider, customer or method ------------

BAR_HEIGHT = 20  # each row's own drawing: two bars of half its height, stretched to the width


@dataclass(frozen=True)
class Row:
    """One row of a report: what it is, its main amount (revenue, or a method's gross deposits)
    and its second (profit, or the net credited), either of which may be negative."""

    label: str
    first: Decimal
    second: Decimal


@dataclass(frozen=True)
class Span:
    """Where a bar starts and how wide it is, from the zero line."""

    x: Decimal
    width: Decimal


@dataclass(frozen=True)
class HBar:
    row: Row
    first: Span
    second: Span


@dataclass(frozen=True)
class Bars:
    width: int
    height: int
    zero_x: Decimal
    bars: list[HBar]


def draw_bars(rows: Sequence[Row], width: int = WIDTH) -> Bars:
    """One drawing per row, every row on the same scale: the largest and the smallest amount (and
    zero) fit the width, so a negative amount reaches left of the zero line."""
    amounts = [amount for row in rows for amount in (row.first, row.second)]
    left, right = min([Decimal(0), *amounts]), max([Decimal(0), *amounts])
    span = (right - left) or Decimal(1)

    def x(amount: Decimal) -> Decimal:
        return _round((amount - left) / span * width)

    zero = x(Decimal(0))

    def bar(amount: Decimal) -> Span:
        end = x(amount)
        return Span(min(end, zero), abs(end - zero))

    return Bars(width, BAR_HEIGHT, zero, [HBar(row, bar(row.first), bar(row.second)) for row in rows])
