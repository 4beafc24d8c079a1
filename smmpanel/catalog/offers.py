"""A service as one customer sees it: the one `Offer`, and the queries that find offers.

What a customer pays for a service is decided here only (`_offer`): their own rate where
the operator set one (`CustomRate`), else the service's. The order forms, the mass order,
the price list and the reseller API all read offers from this module. The API's `add`,
called thousands of times a minute, finds the caller and the offer in one query of its
own: it selects `SQL_COLUMNS` from `SQL_ON_SALE` and builds the offer with `from_row`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet

from smmpanel.catalog.models import Category, CustomRate, Service
from smmpanel.catalog.types import PACKAGE_TYPES, ServiceType
from smmpanel.ledger.money import to_money

# An id has at most 17 digits: every one fits a 64-bit column, whatever a client sends.
_MAX_ID_LENGTH = 17
_TYPE_NAMES = {code: str(label) for code, label in ServiceType.choices}


def parse_id(raw: object) -> int | None:
    """The id of a service, a category or an order as a person or a client wrote it, or None.

    ASCII digits only ("٤٢" and "４２" are digits to Python, not ids), surrounding blanks
    allowed, at most 17 of them.
    """
    text = "" if raw is None else str(raw).strip()
    if text.isascii() and text.isdigit() and len(text) <= _MAX_ID_LENGTH:
        return int(text)
    return None


@dataclass(frozen=True, slots=True)
class Offer:
    """An enabled service of an enabled category, as one customer buys it (their rate applied)."""

    id: int
    name: str
    type: str  # a ServiceType value: the v1 name
    category_id: int
    category: str
    rate: Decimal  # per 1000 units, or per package for the package types
    min: int
    max: int
    dripfeed: bool = False
    refill: bool = False
    cancel: bool = False
    description: str = ""
    own_rate: bool = False  # the rate is the customer's own, set by the operator

    @property
    def type_name(self) -> str:
        """The type as the v2 API names it, e.g. "Custom Comments"."""
        return _TYPE_NAMES.get(self.type, self.type)

    @property
    def package(self) -> bool:
        return self.type in PACKAGE_TYPES

    @property
    def subscription(self) -> bool:
        return self.type == ServiceType.SUBSCRIPTIONS

    @property
    def offers_dripfeed(self) -> bool:
        # Only the Default type takes runs and interval (docs/api.md, the add table).
        return self.dripfeed and self.type == ServiceType.DEFAULT


def _offer(row: Sequence[Any]) -> Offer:
    """An offer from a row of the columns below; the customer's own rate, where set, wins."""
    sid, name, type_, category_id, category, rate, own, min_, max_, drip, refill, cancel, desc = row
    own_rate = own is not None
    return Offer(
        sid,
        name,
        type_,
        category_id,
        category,
        own if own_rate else rate,
        min_,
        max_,
        bool(drip),
        bool(refill),
        bool(cancel),
        desc,
        own_rate,
    )


_FIELDS = (
    "id",
    "name",
    "type",
    "category_id",
    "category__name",
    "rate",
    "own__rate",
    "min",
    "max",
    "dripfeed",
    "refill",
    "cancel",
    "description",
)
_SERVICES = Service._meta.db_table
_CATEGORIES = Category._meta.db_table
_RATES = CustomRate._meta.db_table

# The same columns for a raw query: the service as s, its category as c, the customer's own
# rate as r (joined LEFT, on r.service_id = s.id and r.user_id = the customer).
SQL_COLUMNS = (
    "s.id, s.name, s.type, s.category_id, c.name, s.rate, r.rate, s.min, s.max, "
    "s.dripfeed, s.refill, s.cancel, s.description"
)
# The services on sale with their categories, to join (LEFT, for a service id) in a raw query.
SQL_ON_SALE = f"{_SERVICES} s JOIN {_CATEGORIES} c ON c.id = s.category_id AND c.enabled AND s.enabled"
SQL_OWN_RATES = _RATES


def from_row(row: Sequence[Any]) -> Offer | None:
    """The offer in a raw query's `SQL_COLUMNS`; None where the LEFT JOIN found no service."""
    if row[0] is None:
        return None
    rate, own = row[5], row[6]  # floats in SQLite's raw rows: made exact
    return _offer([*row[:5], to_money(rate), None if own is None else to_money(own), *row[7:]])


def _on_sale(user_id: int | None) -> QuerySet[Service]:
    """Enabled services of enabled categories, each with the customer's own rate beside it."""
    own = FilteredRelation("custom_rates", condition=Q(custom_rates__user_id=user_id or 0))
    return Service.objects.filter(enabled=True, category__enabled=True).annotate(own=own)


def _matching(text: str, *, in_categories: bool) -> Q:
    """Services whose name holds `text` or whose id it is; `in_categories`: or whose category's
    name holds it, and "#42" is an id too (the price list)."""
    wanted = Q(name__icontains=text)
    if in_categories:
        wanted |= Q(category__name__icontains=text)
        text = text.lstrip("#")
    service_id = parse_id(text)
    if service_id is not None:
        wanted |= Q(pk=service_id)
    return wanted


def offers(
    user_id: int | None,
    *,
    category_id: int | None = None,
    search: str = "",
    in_categories: bool = False,
) -> list[Offer]:
    """The offers of this customer (None: anyone's, at the services' rates), in catalogue order:
    of one category, matching a search (see `_matching`), both, or all of them."""
    found = _on_sale(user_id)
    if category_id is not None:
        found = found.filter(category_id=category_id)
    if search:
        found = found.filter(_matching(search, in_categories=in_categories))
    ordered = found.order_by("category__sort_order", "category_id", "sort_order", "id")
    return [_offer(row) for row in ordered.values_list(*_FIELDS)]


def offer(user_id: int, raw_id: object) -> Offer | None:
    """This customer's offer for the service `raw_id` (as typed); None if unknown, not on sale
    or not an id."""
    service_id = parse_id(raw_id)
    if service_id is None:
        return None
    row = _on_sale(user_id).filter(pk=service_id).values_list(*_FIELDS).first()
    return None if row is None else _offer(row)


def categories() -> list[Category]:
    """The enabled categories with a service on sale, in catalogue order."""
    on_sale = Service.objects.filter(enabled=True).values("category_id")
    return list(Category.objects.filter(enabled=True, pk__in=on_sale).order_by("sort_order", "id"))
