"""A mass order: many orders written one a line, each drafted and placed on its own.

A line is the service ID, then the fields of its type (`drafting.FIELDS`, in that order),
separated by |; the items of a list are separated by ;. A link may hold a |: it takes
whatever the other fields leave. Subscriptions have no link and seven settings: the order
form only. Each line is placed with its own idempotency key, so a form sent twice places
nothing twice.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from smmpanel.catalog.offers import offer
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.money import ZERO
from smmpanel.orders import drafting, placement
from smmpanel.orders.drafting import PlacementError
from smmpanel.orders.models import Order

MAX_LINES = 500
LIST_SEPARATOR = ";"
LIST_FIELDS = frozenset({"comments", "usernames", "hashtags", "groups", "keywords"})
FIELDS: dict[str, tuple[str, ...]] = {
    t: f for t, f in drafting.FIELDS.items() if t != ServiceType.SUBSCRIPTIONS
}

# Why a line is not an order before it reaches drafting (LineResult.problem).
NOT_A_LINE = "not_a_line"  # no service ID and | to start it
NEEDS_FORM = "needs_form"  # a subscription: the order form only
TOO_FEW_FIELDS = "too_few_fields"  # fewer fields than its service's type takes


@dataclass(frozen=True)
class Line:
    """One non-blank line of a mass order, as typed: the service ID and the rest of the line."""

    number: int
    text: str
    service: str = ""
    rest: str | None = None  # what follows the first |; None if the line has none

    @property
    def well_formed(self) -> bool:
        return bool(self.service) and self.rest is not None


def lines(text: str) -> list[Line]:
    found = []
    for number, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        service, sep, rest = line.partition("|")
        if not sep or not service.strip():
            found.append(Line(number, line))
        else:
            found.append(Line(number, line, service.strip(), rest))
    return found


def params(service_type: str, rest: str) -> dict[str, str] | None:
    """The API parameters a line holds after its service ID; None if it has too few fields."""
    fields = FIELDS[service_type]
    parts = rest.split("|")
    if service_type == ServiceType.PACKAGE and len(parts) > 1 and parts[-1].strip().isdigit():
        parts.pop()  # a quantity written out of habit: a package is one package
    extra = len(parts) - len(fields)
    if extra < 0:
        return None
    values = ["|".join(parts[: extra + 1]), *parts[extra + 1 :]]
    found = {}
    for name, value in zip(fields, values, strict=True):
        if name in LIST_FIELDS:
            value = "\n".join(item.strip() for item in value.split(LIST_SEPARATOR))
        found[name] = value.strip()
    return found


@dataclass
class LineResult:
    line: Line
    order_id: int | None = None
    problem: str = ""  # NOT_A_LINE, NEEDS_FORM or TOO_FEW_FIELDS
    error: PlacementError | None = None  # drafting or placing refused the order
    service_type: str = ""  # the type of the line's service, once known
    charge: Decimal = ZERO
    before: bool = False  # placed by an earlier submission of the same form

    @property
    def placed(self) -> bool:
        return self.order_id is not None


def line_key(token: str, line: Line) -> str:
    """The idempotency key of one line of the form sent with `token`."""
    # The line number (so a resubmitted form places nothing twice) and the line's text
    # (so an edited form never takes one line's earlier order for another's).
    digest = hashlib.sha256(line.text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{token}:{line.number}:{digest}"


def place_line(user_id: int, line: Line, token: str) -> LineResult:
    """One line, in its own transaction: a line that fails places nothing and costs nothing."""
    if not line.well_formed or line.rest is None:
        return LineResult(line, problem=NOT_A_LINE)
    chosen = offer(user_id, line.service)
    if chosen is None:
        return LineResult(line, error=drafting.not_on_sale(line.service))
    if chosen.type not in FIELDS:
        return LineResult(line, problem=NEEDS_FORM, service_type=chosen.type)
    found = params(chosen.type, line.rest)
    if found is None:
        return LineResult(line, problem=TOO_FEW_FIELDS, service_type=chosen.type)
    try:
        draft = drafting.draft(chosen, found)
        key = line_key(token, line)
        order_id = placement.place(user_id, draft, source=Order.Source.WEB, idempotency_key=key)
    except PlacementError as error:
        return LineResult(line, error=error, service_type=chosen.type)
    return LineResult(line, order_id=order_id, service_type=chosen.type)


def place_all(user_id: int, found: list[Line], token: str) -> list[LineResult]:
    """Every line placed on its own; each placed one with its charge, and whether an earlier
    submission of the same form placed it."""
    started = timezone.now()
    results = [place_line(user_id, line, token) for line in found]
    placed = {r.order_id for r in results if r.order_id is not None}
    rows = Order.objects.filter(user_id=user_id, pk__in=placed).values_list("pk", "charge", "created_at")
    facts = {pk: (charge, created_at < started) for pk, charge, created_at in rows}
    for result in results:
        if result.order_id in facts:
            result.charge, result.before = facts[result.order_id]
    return results
