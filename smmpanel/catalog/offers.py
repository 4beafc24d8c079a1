"""A service as one customer sees it: the one `Offer`, and the queries that find offers.

What a customer pays for a service is decided here only (`_offer`): their own rate where
the operator set one (`CustomRate`), else the service's less their discount where they have
one (`CustomerDiscount`, rounded by ledger.money.with_discount). The order forms, the mass
order, the price list and the reseller API all read offers from this module. The API's
`add`, called thousands of times a minute, finds the caller and the offer in one query of
its own: it selects `SQL_COLUMNS` from `SQL_ON_SALE` joined with `sql_customer_prices`, and
builds the offer with `from_row`.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet, Subquery

from smmpanel.catalog.fallback import SQL_TAKING_ORDERS, taking_orders
from smmpanel.catalog.models import Category, CustomerDiscount, CustomRate, Service
from smmpanel.catalog.types import PACKAGE_TYPES, ServiceType
from smmpanel.ledger.money import to_money, with_discount

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
    discount: Decimal | None = None  # the customer's discount in percent, applied to `rate`
    # The name and description in other site languages, and the average delivery time: the
    # website's (the API keeps `name` and `description`, its contract).
    names: dict[str, str] | None = field(default=None, hash=False, compare=False)
    descriptions: dict[str, str] | None = field(default=None, hash=False, compare=False)
    average_minutes: int | None = None

    def name_in(self, language: str) -> str:
        """The name customers reading `language` see."""
        return str((self.names or {}).get(language) or "") or self.name

    def description_in(self, language: str) -> str:
        return str((self.descriptions or {}).get(language) or "") or self.description

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
    """An offer from a row of the columns below; the customer's own rate, where set, wins over
    their discount, which applies to the service's rate. The website's columns (names,
    descriptions, average minutes) may follow."""
    sid, name, type_, category_id, category, rate, own, min_, max_, drip, refill, cancel, desc, off = row[:14]
    names, descriptions, average = (*row[14:], None, None, None)[:3]
    own_rate = own is not None
    discount = None if own_rate or off is None else off
    if own_rate:
        rate = own
    elif discount is not None:
        rate = with_discount(rate, discount)
    return Offer(
        sid,
        name,
        type_,
        category_id,
        category,
        rate,
        min_,
        max_,
        bool(drip),
        bool(refill),
        bool(cancel),
        desc,
        own_rate,
        discount,
        names or None,
        descriptions or None,
        average,
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
    "discount",
    "names",
    "descriptions",
    "average_minutes",
)
_SERVICES = Service._meta.db_table
_CATEGORIES = Category._meta.db_table
_RATES = CustomRate._meta.db_table
_DISCOUNTS = CustomerDiscount._meta.db_table

# The same columns for a raw query: the service as s, its category as c, the customer's own
# rate as r and their discount as d (both joined by `sql_customer_prices`).
SQL_COLUMNS = (
    "s.id, s.name, s.type, s.category_id, c.name, s.rate, r.rate, s.min, s.max, "
    "s.dripfeed, s.refill, s.cancel, s.description, d.percent"
)
# The services on sale with their categories, to join (LEFT, for a service id) in a raw query:
# enabled, of an enabled category, and taking orders (catalog/fallback.py).
SQL_ON_SALE = (
    f"{_SERVICES} s JOIN {_CATEGORIES} c "
    f"ON c.id = s.category_id AND c.enabled AND s.enabled AND {SQL_TAKING_ORDERS}"
)


def sql_customer_prices(user_column: str) -> str:
    """The LEFT JOINs of a raw query that bring the customer's own rate (r) for the service s and
    their discount (d), the customer's id being the column `user_column` (e.g. "k.user_id")."""
    return (
        f"LEFT JOIN {_RATES} r ON r.service_id = s.id AND r.user_id = {user_column} "
        f"LEFT JOIN {_DISCOUNTS} d ON d.user_id = {user_column}"
    )


def _exact(value: object) -> Decimal | None:
    return None if value is None else to_money(value)  # floats in SQLite's raw rows: made exact


def from_row(row: Sequence[Any]) -> Offer | None:
    """The offer in a raw query's `SQL_COLUMNS`; None where the LEFT JOIN found no service."""
    if row[0] is None:
        return None
    return _offer([*row[:5], to_money(row[5]), _exact(row[6]), *row[7:13], _exact(row[13])])


def _selling() -> QuerySet[Service]:
    """Enabled services of enabled categories that take orders: their provider (or its
    fallback) is enabled (catalog/fallback.py)."""
    return Service.objects.filter(taking_orders(), enabled=True, category__enabled=True)


def _on_sale(user_id: int | None) -> QuerySet[Service]:
    """The services on sale, each with the customer's own rate and their discount beside it."""
    own = FilteredRelation("custom_rates", condition=Q(custom_rates__user_id=user_id or 0))
    discount = CustomerDiscount.objects.filter(user_id=user_id or 0).values("percent")[:1]
    return _selling().annotate(own=own, discount=Subquery(discount))


def _matching(text: str, *, in_categories: bool, language: str = "") -> Q:
    """Services whose name (or their name in `language`) holds `text` or whose id it is;
    `in_categories`: or whose category's name holds it, and "#42" is an id too (the price list)."""
    wanted = Q(name__icontains=text)
    if language.isalpha():  # a site language's code, as the key of `names`
        wanted |= Q(**{f"names__{language}__icontains": text})
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
    language: str = "",
) -> list[Offer]:
    """The offers of this customer (None: anyone's, at the services' rates), in catalogue order:
    of one category, matching a search (see `_matching`), both, or all of them."""
    found = _on_sale(user_id)
    if category_id is not None:
        found = found.filter(category_id=category_id)
    if search:
        found = found.filter(_matching(search, in_categories=in_categories, language=language))
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


def paused(raw_id: object) -> bool:
    """Whether `raw_id` (as typed) is a service customers could buy but whose provider is
    disabled without a usable fallback: it is not taking orders right now."""
    service_id = parse_id(raw_id)
    if service_id is None:
        return False
    shown = Service.objects.filter(pk=service_id, enabled=True, category__enabled=True)
    # Two plain questions, not an exclude(): NOT over the fallback's nullable joins is unknown.
    return shown.exists() and not shown.filter(taking_orders()).exists()


def categories() -> list[Category]:
    """The enabled categories with a service on sale, in catalogue order."""
    on_sale = _selling().values("category_id")
    return list(Category.objects.filter(enabled=True, pk__in=on_sale).order_by("sort_order", "id"))
