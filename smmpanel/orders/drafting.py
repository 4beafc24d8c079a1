"""Validating an order request for its service's type (docs/api.md, the `add` table).

Shared by the reseller API and the website. Errors are PlacementError with a
code; each front end words them in its own language and dialect.
"""

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

from django.utils import timezone

from smmpanel.catalog.offers import Offer, paused
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.money import ZERO, charge_for
from smmpanel.orders.models import Order

MAX_LINK = 2048
MAX_RUNS = 10_000
MAX_INTERVAL = 60 * 24 * 365
SUBSCRIPTION_DELAYS = frozenset(
    {0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600}
)
_DIGITS = re.compile(r"[0-9]{1,18}")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_PORT = re.compile(r"[0-9]{1,5}")
T = ServiceType


class PlacementError(Exception):
    """The order cannot be placed; `code` names the reason, `value` completes it."""

    MISSING = "missing"  # value: the parameter's name
    BAD_SERVICE = "bad_service"
    NOT_TAKING_ORDERS = "not_taking_orders"  # on sale, but its provider is disabled, no fallback
    BAD_LINK = "bad_link"
    BELOW_MIN = "below_min"  # value: the minimum
    ABOVE_MAX = "above_max"  # value: the maximum
    BAD_QUANTITY = "bad_quantity"
    BAD_PARAMETER = "bad_parameter"  # value: the parameter's name
    NO_FUNDS = "no_funds"
    ON_HOLD = "on_hold"  # the account is on hold: an unsettled payment dispute (ledger.OnHold)
    NO_DRIPFEED = "no_dripfeed"
    BAD_RUNS = "bad_runs"
    ACTIVE_LINK = "active_link"
    BAD_SUBSCRIPTION = "bad_subscription"

    def __init__(self, code: str, value: str | int | None = None) -> None:
        super().__init__(code, value)
        self.code = code
        self.value = value


def not_on_sale(raw_id: object) -> PlacementError:
    """Why the service `raw_id` (as typed), which has no offer, cannot be ordered."""
    return PlacementError(PlacementError.NOT_TAKING_ORDERS if paused(raw_id) else PlacementError.BAD_SERVICE)


@dataclass
class Draft:
    """A validated order, ready to be charged and stored."""

    service: Offer
    link: str
    quantity: int
    charge: Decimal
    kind: str = Order.Kind.SINGLE
    runs: int | None = None
    interval: int | None = None
    params: dict[str, object] = field(default_factory=dict)
    status: str = Order.Status.PENDING

    @property
    def units(self) -> int:
        """Units still to deliver: every run of a drip-feed order."""
        return 0 if self.kind == Order.Kind.SUBSCRIPTION else self.quantity * (self.runs or 1)


def normalise_link(raw: str) -> str:
    """An http(s) URL, or raise BAD_LINK. A bare host/path gets https://."""
    link = raw.strip()
    if not link or len(link) > MAX_LINK or _CONTROL.search(link) or _has_format_character(link):
        raise PlacementError(PlacementError.BAD_LINK)
    scheme = _SCHEME.match(link)
    if scheme is None:
        link = "https://" + link
    elif scheme.group(1).lower() not in {"http", "https"}:
        raise PlacementError(PlacementError.BAD_LINK)
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError as exc:
        raise PlacementError(PlacementError.BAD_LINK) from exc
    if not host or len(link) > MAX_LINK or not parts.netloc.strip("@:") or not _port_ok(parts.netloc):
        raise PlacementError(PlacementError.BAD_LINK)
    return link


def _port_ok(netloc: str) -> bool:
    """No port, or 1..65535 in ASCII digits. An empty one ("host:/x") is refused, as Django's
    URLValidator does; urllib's own `.port` takes "+80" or non-ASCII digits on some Pythons."""
    hostinfo = netloc.rpartition("@")[2]
    if hostinfo.startswith("["):  # an IPv6 address: its colons are not the port's
        hostinfo = hostinfo.partition("]")[2]
    _host, colon, port = hostinfo.partition(":")
    return not colon or (_PORT.fullmatch(port) is not None and 1 <= int(port) <= 65535)


def _has_format_character(text: str) -> bool:
    # Unicode format characters (Cf) are invisible: bidi overrides and isolates make a link read
    # differently from where it leads, zero-width ones hide inside a host name.
    return not text.isascii() and any(unicodedata.category(char) == "Cf" for char in text)


def parse_count(text: str) -> int:
    """A whole positive number, or raise BAD_QUANTITY; huge numbers stay huge."""
    text = text.strip()
    if len(text) > 18 and text.isascii() and text.isdigit():
        return 10**18  # beyond any max: reported as "more than maximum"
    if not _DIGITS.fullmatch(text) or int(text) <= 0:
        raise PlacementError(PlacementError.BAD_QUANTITY)
    return int(text)


def split_list(text: str) -> list[str]:
    """A list parameter: one item per line (\\r\\n or \\n), trimmed, blank lines dropped."""
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n") if line.strip()]


class _Params:
    """Reads one request's parameters, raising the right PlacementError."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.values = values

    def text(self, name: str) -> str:
        """One value: no line breaks or other control characters."""
        value = self.values.get(name, "").strip()
        if not value:
            raise PlacementError(PlacementError.MISSING, name)
        if _CONTROL_CHARS.search(value):
            raise PlacementError(PlacementError.BAD_PARAMETER, name)
        return value

    def lines(self, name: str) -> list[str]:
        """A list: one item a line; items may hold tabs but no other control characters."""
        items = split_list(self.values.get(name, ""))
        if not items:
            raise PlacementError(PlacementError.MISSING, name)
        if any(_CONTROL_CHARS.search(item.replace("\t", " ")) for item in items):
            raise PlacementError(PlacementError.BAD_PARAMETER, name)
        return items


def _link(p: _Params) -> str:
    if not p.values.get("link", "").strip():
        raise PlacementError(PlacementError.MISSING, "link")
    return normalise_link(p.values["link"])


def _in_bounds(service: Offer, quantity: int) -> int:
    if quantity < service.min:
        raise PlacementError(PlacementError.BELOW_MIN, service.min)
    if quantity > service.max:
        raise PlacementError(PlacementError.ABOVE_MAX, service.max)
    return quantity


def _quantity(service: Offer, p: _Params) -> int:
    raw = p.values.get("quantity", "").strip()
    if not raw:
        raise PlacementError(PlacementError.MISSING, "quantity")
    return _in_bounds(service, parse_count(raw))


def _asked(value: str | None) -> bool:
    # Many clients always send runs/interval, as "" or "0" when they mean "no".
    return value is not None and value.strip() not in {"", "0"}


def _dripfeed(service: Offer, p: _Params) -> tuple[int, int] | None:
    runs, interval = p.values.get("runs"), p.values.get("interval")
    if not (_asked(runs) or _asked(interval)):
        return None
    if not service.dripfeed:
        raise PlacementError(PlacementError.NO_DRIPFEED)
    try:
        runs_n = parse_count(runs or "")
        interval_n = parse_count(interval or "")
    except PlacementError:
        raise PlacementError(PlacementError.BAD_RUNS) from None
    if not 2 <= runs_n <= MAX_RUNS or interval_n > MAX_INTERVAL:
        raise PlacementError(PlacementError.BAD_RUNS)
    return runs_n, interval_n


def _per_unit(service: Offer, link: str, quantity: int, **params: object) -> Draft:
    return Draft(service, link, quantity, charge_for(service.rate, quantity), params=params)


def _package(service: Offer, link: str, **params: object) -> Draft:
    return Draft(service, link, 1, charge_for(service.rate, 1, package=True), params=params)


def _joined(items: list[str]) -> str:
    # Stored as the API sends them, so an adapter forwards the string unchanged.
    return "\n".join(items)


def _counted(service: Offer, p: _Params, name: str) -> list[str]:
    items = p.lines(name)
    _in_bounds(service, len(items))
    return items


def _default(s: Offer, p: _Params) -> Draft:
    link = _link(p)
    quantity = _quantity(s, p)
    drip = _dripfeed(s, p)
    if drip is None:
        return _per_unit(s, link, quantity)
    runs, interval = drip
    charge = charge_for(s.rate, quantity * runs)
    return Draft(s, link, quantity, charge, Order.Kind.DRIPFEED, runs, interval)


def _custom_comments(s: Offer, p: _Params) -> Draft:
    link = _link(p)
    comments = _counted(s, p, "comments")
    return _per_unit(s, link, len(comments), comments=_joined(comments))


def _custom_comments_package(s: Offer, p: _Params) -> Draft:
    link = _link(p)
    return _package(s, link, comments=_joined(p.lines("comments")))


def _mentions_with_hashtags(s: Offer, p: _Params) -> Draft:
    link, quantity = _link(p), _quantity(s, p)
    usernames, hashtags = p.lines("usernames"), p.lines("hashtags")
    return _per_unit(s, link, quantity, usernames=_joined(usernames), hashtags=_joined(hashtags))


def _mentions_custom_list(s: Offer, p: _Params) -> Draft:
    link = _link(p)
    usernames = _counted(s, p, "usernames")
    return _per_unit(s, link, len(usernames), usernames=_joined(usernames))


def _comment_replies(s: Offer, p: _Params) -> Draft:
    link = _link(p)
    username = p.text("username")
    comments = _counted(s, p, "comments")
    return _per_unit(s, link, len(comments), username=username, comments=_joined(comments))


def _poll(s: Offer, p: _Params) -> Draft:
    link, quantity = _link(p), _quantity(s, p)
    answer = p.text("answer_number")
    if not _DIGITS.fullmatch(answer) or int(answer) < 1:
        raise PlacementError(PlacementError.BAD_PARAMETER, "answer_number")
    return _per_unit(s, link, quantity, answer_number=answer)


def _with_list(name: str) -> Callable[[Offer, _Params], Draft]:
    """A per-unit type: link, quantity and one list parameter."""

    def drafter(s: Offer, p: _Params) -> Draft:
        link, quantity = _link(p), _quantity(s, p)
        return _per_unit(s, link, quantity, **{name: _joined(p.lines(name))})

    return drafter


def _with_text(name: str) -> Callable[[Offer, _Params], Draft]:
    """A per-unit type: link, quantity and one single-value parameter."""

    def drafter(s: Offer, p: _Params) -> Draft:
        link, quantity = _link(p), _quantity(s, p)
        return _per_unit(s, link, quantity, **{name: p.text(name)})

    return drafter


def _subscription_count(p: _Params, name: str, *, optional: bool = False, zero: bool = False) -> int | None:
    raw = p.values.get(name, "").strip()
    if not raw:
        if optional:
            return None
        raise PlacementError(PlacementError.MISSING, name)
    if not _DIGITS.fullmatch(raw) or (int(raw) == 0 and not zero):
        raise PlacementError(PlacementError.BAD_SUBSCRIPTION)
    return int(raw)


def _expiry(raw: str, today: date) -> date | None:
    if not raw.strip():
        return None
    try:
        expiry = datetime.strptime(raw.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise PlacementError(PlacementError.BAD_SUBSCRIPTION) from None
    if expiry <= today:
        raise PlacementError(PlacementError.BAD_SUBSCRIPTION)
    return expiry


def _subscriptions(s: Offer, p: _Params) -> Draft:
    username = p.text("username")
    low = _subscription_count(p, "min")
    high = _subscription_count(p, "max")
    posts = _subscription_count(p, "posts", optional=True)
    old_posts = _subscription_count(p, "old_posts", optional=True, zero=True)
    delay = _subscription_count(p, "delay", optional=True, zero=True) or 0
    expiry = _expiry(p.values.get("expiry", ""), timezone.localdate())
    assert low is not None and high is not None
    if not s.min <= low <= high <= s.max or delay not in SUBSCRIPTION_DELAYS:
        raise PlacementError(PlacementError.BAD_SUBSCRIPTION)
    params: dict[str, object] = {
        "username": username,
        "min": low,
        "max": high,
        "posts": posts,
        "old_posts": old_posts or 0,
        "delay": delay,
        "expiry": expiry.isoformat() if expiry else None,
        # The customer's rate when subscribing: each post is charged at it.
        "rate": str(s.rate),
    }
    # Nothing is charged now: each post's order is charged when it is created.
    return Draft(s, username, high, ZERO, Order.Kind.SUBSCRIPTION, params=params, status=Order.Status.ACTIVE)


_DRAFTERS: dict[str, Callable[[Offer, _Params], Draft]] = {
    T.DEFAULT: _default,
    T.PACKAGE: lambda s, p: _package(s, _link(p)),
    T.CUSTOM_COMMENTS: _custom_comments,
    T.CUSTOM_COMMENTS_PACKAGE: _custom_comments_package,
    T.MENTIONS: _with_list("usernames"),
    T.MENTIONS_WITH_HASHTAGS: _mentions_with_hashtags,
    T.MENTIONS_CUSTOM_LIST: _mentions_custom_list,
    T.MENTIONS_HASHTAG: _with_text("hashtag"),
    T.MENTIONS_USER_FOLLOWERS: _with_text("username"),
    T.MENTIONS_MEDIA_LIKERS: _with_text("media"),
    T.COMMENT_LIKES: _with_text("username"),
    T.COMMENT_REPLIES: _comment_replies,
    T.POLL: _poll,
    T.INVITES_FROM_GROUPS: _with_list("groups"),
    T.SEO: _with_list("keywords"),
    T.SUBSCRIPTIONS: _subscriptions,
}
# Every type an order can be drafted for (the API documentation lists each one).
ORDER_TYPES: tuple[str, ...] = tuple(_DRAFTERS)


def draft(service: Offer, params: Mapping[str, str]) -> Draft:
    """Validate `params` for the service's type; parameters foreign to it are ignored."""
    return _DRAFTERS[service.type](service, _Params(params))


# The parameters each type takes, in the order a form shows them; `runs` and `interval` may
# follow Default's (docs/api.md, the `add` table).
FIELDS: dict[str, tuple[str, ...]] = {
    T.DEFAULT: ("link", "quantity"),
    T.PACKAGE: ("link",),
    T.CUSTOM_COMMENTS: ("link", "comments"),
    T.CUSTOM_COMMENTS_PACKAGE: ("link", "comments"),
    T.MENTIONS: ("link", "quantity", "usernames"),
    T.MENTIONS_WITH_HASHTAGS: ("link", "quantity", "usernames", "hashtags"),
    T.MENTIONS_CUSTOM_LIST: ("link", "usernames"),
    T.MENTIONS_HASHTAG: ("link", "quantity", "hashtag"),
    T.MENTIONS_USER_FOLLOWERS: ("link", "quantity", "username"),
    T.MENTIONS_MEDIA_LIKERS: ("link", "quantity", "media"),
    T.COMMENT_LIKES: ("link", "quantity", "username"),
    T.COMMENT_REPLIES: ("link", "username", "comments"),
    T.POLL: ("link", "quantity", "answer_number"),
    T.INVITES_FROM_GROUPS: ("link", "quantity", "groups"),
    T.SEO: ("link", "quantity", "keywords"),
    T.SUBSCRIPTIONS: ("username", "min", "max", "posts", "old_posts", "delay", "expiry"),
}
DRIPFEED_FIELDS = ("runs", "interval")
# Types whose unit count is the number of lines of a list, not `quantity`.
COUNTED_LIST: dict[str, str] = {
    T.CUSTOM_COMMENTS: "comments",
    T.COMMENT_REPLIES: "comments",
    T.MENTIONS_CUSTOM_LIST: "usernames",
}


def draft_ticked(service: Offer, params: Mapping[str, str], *, dripfeed: bool = False) -> Draft:
    """`draft` for a form with a drip-feed box: ticked with no runs or interval is an error
    (the API reads an order without them as one delivered at once)."""
    if dripfeed and service.type == T.DEFAULT:
        if not service.dripfeed:
            raise PlacementError(PlacementError.NO_DRIPFEED)
        if not any(_asked(params.get(name)) for name in DRIPFEED_FIELDS):
            raise PlacementError(PlacementError.BAD_RUNS)
    return draft(service, params)
