"""The console's reports (administrators and finance): profit by day, service, category, provider
and customer, the top customers, and deposits by method, over a period of days in the panel's
time zone; each as a table, a chart drawn by the panel and a CSV of the same figures.

The figures are orders.reports', payments.figures' and ledger.totals'; this view parses the
period, picks the columns and renders them (docs/reports.md)."""

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.console import chart
from smmpanel.console.guard import staff_view
from smmpanel.console.report_forms import PRESETS, PeriodForm, bounds
from smmpanel.console.views.orders import inert
from smmpanel.ledger import totals
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import TOTAL, ZERO, amount_text
from smmpanel.ledger.totals import adjustments, per_customer
from smmpanel.orders import reports
from smmpanel.orders.reports import Line
from smmpanel.payments import figures

REPORTS: dict[str, Promise] = {
    "day": _("By day"),
    "service": _("By service"),
    "category": _("By category"),
    "provider": _("By provider"),
    "customer": _("By customer"),
    "top-customers": _("Top customers"),
    "deposits": _("Deposits by method"),
}
TITLES: dict[str, Promise] = {
    "day": _("Profit by day"),
    "service": _("Profit by service"),
    "category": _("Profit by category"),
    "provider": _("Profit by provider"),
    "customer": _("Profit by customer"),
    "top-customers": _("Top customers"),
    "deposits": _("Deposits by method"),
}
ROWS_SHOWN = 50  # on the page, as the console's lists; the CSV has every row
BARS_SHOWN = 15
TOP_CUSTOMERS = 20
ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Column:
    name: str  # the CSV's header
    label: Promise
    kind: str  # "text", "day", "id", "count", "money" or "percent"
    value: Callable[[Any], Any]


def _key_columns(by: str) -> list[Column]:
    if by == "day":
        return [Column("day", _("Day"), "day", lambda line: line.key)]
    labels = {"service": _("Service"), "category": _("Category"), "provider": _("Provider")}
    name = "customer" if by == "top-customers" else by
    return [
        Column(f"{name}_id", _("ID"), "id", lambda line: line.key),
        Column(name, labels.get(name, _("Customer")), "text", lambda line: line.label),
    ]


ORDERS = Column("orders", _("Orders"), "count", lambda line: line.orders)
CHARGES = Column("charges", _("Charges"), "money", lambda line: line.charges)
REFUNDS = Column("refunds", _("Refunds"), "money", lambda line: line.refunds)
REVENUE = Column("revenue", _("Revenue"), "money", lambda line: line.revenue)
COST = Column("cost", _("Provider cost"), "money", lambda line: line.cost)
PROFIT = Column("profit", _("Profit"), "money", lambda line: line.profit)
MARGIN = Column("margin_percent", _("Margin"), "percent", lambda line: line.margin)
DEPOSIT_COLUMNS = [
    Column("method", _("Method"), "text", lambda line: line.label),
    Column("deposits", _("Deposits"), "count", lambda line: line.deposits),
    Column("gross", _("Gross"), "money", lambda line: line.gross),
    Column("bonuses", _("Bonuses"), "money", lambda line: line.bonuses),
    Column("fees", _("Fees"), "money", lambda line: line.fees),
    Column("returned", _("Returned"), "money", lambda line: line.returned),
    Column("net", _("Net credited"), "money", lambda line: line.net),
]


@dataclass
class Report:
    columns: list[Column]
    lines: list[Any]  # every line (the CSV's)
    total: Any | None  # the period's total line, or None (top customers)
    empty: bool
    bars: list[chart.Row]
    days: chart.Chart | None = None


def _every_day(lines: list[Line], first: date, last: date) -> list[Line]:
    known = {line.key: line for line in lines}
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [known.get(day, Line(day)) for day in days]


def _profit(by: str, first: date, last: date) -> Report:
    since, until = bounds(first, last)
    zone = since.tzinfo
    assert zone is not None
    lines = reports.profit_by(by, since, until, zone)
    columns = [*_key_columns(by), ORDERS, CHARGES, REFUNDS, REVENUE, COST, PROFIT, MARGIN]
    report = Report(columns, lines, reports.total(lines), not lines, [])
    if by == "day":
        report.lines = _every_day(lines, first, last)
        report.days = chart.draw([chart.Day(line.day, line.revenue, line.profit) for line in report.lines])
    else:
        report.bars = [chart.Row(line.label, line.revenue, line.profit) for line in lines[:BARS_SHOWN]]
    return report


def _top_customers(first: date, last: date) -> Report:
    since, until = bounds(first, last)
    zone = since.tzinfo
    assert zone is not None
    lines = reports.profit_by("customer", since, until, zone)[:TOP_CUSTOMERS]
    deposits = per_customer(LedgerEntry.Kind.DEPOSIT, since, until, [line.id for line in lines])
    deposited = Column("deposits", _("Deposits"), "money", lambda line: deposits.get(line.key, ZERO))
    columns = [*_key_columns("top-customers"), ORDERS, REVENUE, deposited, COST, PROFIT, MARGIN]
    bars = [chart.Row(line.label, line.revenue, line.profit) for line in lines[:BARS_SHOWN]]
    return Report(columns, lines, None, not lines, bars)


def _deposits(first: date, last: date) -> Report:
    since, until = bounds(first, last)
    lines = figures.by_method(since, until)
    changed = adjustments(since, until)
    if changed.counts["entries"]:
        lines.append(
            figures.Method(
                ADJUSTMENT,
                str(_("Balance adjustments by staff")),
                changed.counts["entries"],
                changed.sums["amount"],
            )
        )
    total = figures.Method("", "")
    for line in lines:
        total.add(line)
    bars = [chart.Row(line.label, line.gross, line.net) for line in lines[:BARS_SHOWN]]
    return Report(DEPOSIT_COLUMNS, lines, total, not lines, bars)


def _labels(columns: list[Column]) -> list[str]:
    """The columns' headings in the reader's language, translated once per page, not per cell."""
    return [str(column.label) for column in columns]


def _shown(kind: str, value: Any) -> tuple[str, str]:
    """A cell's text in the reader's number and date format, and its classes. Formatted here rather
    than by a template per cell: a year by day is thousands of cells."""
    if kind in ("money", "percent"):
        if value is None:
            return "—", "num"
        css = "num loss" if value < 0 else "num"
        if kind == "money":
            return amount_text(value, TOTAL), css
        return formats.number_format(value, 2, use_l10n=True) + "\u00a0%", css
    if kind == "count":
        return formats.number_format(value, use_l10n=True, force_grouping=True), "num"
    if kind == "id":
        return ("" if value is None else str(value)), "num"
    if kind == "day" and isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT"), "wrap"
    return str(value or "—"), "wrap"


def _cells(columns: list[Column], line: Any, *, total: bool = False) -> list[dict[str, Any]]:
    cells = []
    labels = _labels(columns)
    for column, label in zip(columns, labels, strict=True):
        value = column.value(line)
        if total and column.kind in ("day", "text", "id"):  # the total's name in its name's column
            value = None if column.kind == "id" else _("Total")
        text, css = _shown(column.kind, value)
        cells.append({"name": column.name, "label": label, "text": text, "css": css})
    return cells


def _csv_value(column: Column, value: Any) -> str | int:
    if value is None:
        return ""
    if column.kind in ("money", "percent"):
        return format(value, "f")
    if column.kind == "day":
        return str(value.isoformat())
    return value if column.kind in ("count", "id") else inert(str(value))


def _csv(name: str, report: Report, first: date, last: date) -> HttpResponse:
    """Every line of the report, amounts exact (six decimals, a dot, no grouping)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{first.isoformat()}-{last.isoformat()}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow([column.name for column in report.columns])
    for line in report.lines:
        writer.writerow([_csv_value(column, column.value(line)) for column in report.columns])
    return response


def _build(name: str, first: date, last: date) -> Report:
    with totals.planned_for_their_period():
        if name == "deposits":
            return _deposits(first, last)
        if name == "top-customers":
            return _top_customers(first, last)
        return _profit(name, first, last)


def _url(name: str) -> str:
    return reverse("console:reports") if name == "day" else reverse("console:report", args=[name])


def _links(name: str, first: date, last: date, preset: str) -> dict[str, Any]:
    days = {"since": first.isoformat(), "until": last.isoformat()}
    period = urlencode({"preset": preset} if preset else days)
    here = _url(name)
    return {
        "tabs": [
            {"name": slug, "label": label, "url": f"{_url(slug)}?{period}", "current": slug == name}
            for slug, label in REPORTS.items()
        ],
        "presets": [
            {"name": key, "label": label, "url": f"{here}?preset={key}", "current": key == preset}
            for key, label in PRESETS.items()
        ],
        "csv": f"{here}?{period}&format=csv",
    }


@staff_view("reports")
def report(request: HttpRequest, name: str = "day") -> HttpResponse:
    if name not in REPORTS:
        raise Http404("no such report")
    form = PeriodForm(request.GET)
    valid = form.is_valid()
    first, last = form.days()
    result = _build(name, first, last)
    if valid and request.GET.get("format") == "csv":
        return _csv(name, result, first, last)
    preset = form.cleaned_data.get("preset", "") if valid else ""
    if valid:
        form = PeriodForm({"preset": preset, "since": first.isoformat(), "until": last.isoformat()})
    shown = result.lines if name == "day" else result.lines[:ROWS_SHOWN]
    context = {
        "nav": "reports",
        "name": name,
        "title": TITLES[name],
        "form": form,
        "first": first,
        "last": last,
        "report": result,
        "headers": result.columns,
        "rows": [_cells(result.columns, line) for line in shown],
        "total": _cells(result.columns, result.total, total=True) if result.total is not None else None,
        "more": len(result.lines) - len(shown),
        "bars": chart.draw_bars(result.bars) if result.bars else None,
        "currency": settings.SMMPANEL_CURRENCY,
        "time_zone": settings.TIME_ZONE,
        **_links(name, first, last, preset),
    }
    return render(request, "console/reports.html", context, status=200 if valid else 400)
