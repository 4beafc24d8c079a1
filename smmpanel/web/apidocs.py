"""The reseller API's documentation (the public page /api/docs/), as data.

Every action and every service type has an entry, so the page cannot silently miss one: the types
are the ones `orders/drafting.py` drafts, in its order, and the subscription delays its own. The
example answers are written out as each dialect sends them; tests/test_api_docs_data.py proves
they equal what `api/dialects.py` produces, so they cannot drift (the website imports nothing
from the API).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from smmpanel.catalog.types import ServiceType
from smmpanel.orders.drafting import ORDER_TYPES, SUBSCRIPTION_DELAYS

T = ServiceType
# Stands for the panel's currency in an example answer; `answer()` puts the real one in.
CURRENCY = "<currency>"


@dataclass(frozen=True)
class Param:
    name: str
    text: Promise | str
    required: bool = True


@dataclass(frozen=True)
class Example:
    params: Mapping[str, str]
    v2: Any
    v1: Any
    title: Promise | str = ""


@dataclass(frozen=True)
class Action:
    name: str
    anchor: str
    summary: Promise | str
    params: tuple[Param, ...]
    examples: tuple[Example, ...]
    note: Promise | str = ""


@dataclass(frozen=True)
class TypeDoc:
    type: ServiceType
    summary: Promise | str
    params: tuple[Param, ...]
    examples: tuple[Mapping[str, str], ...]
    units: Promise | str = field(default=_("quantity"))


def _req(name: str, text: Promise | str) -> Param:
    return Param(name, text)


def _opt(name: str, text: Promise | str) -> Param:
    return Param(name, text, required=False)


def answer(value: Any, currency: str) -> Any:
    """An example answer with the panel's currency in place of CURRENCY."""
    if isinstance(value, dict):
        return {key: answer(item, currency) for key, item in value.items()}
    if isinstance(value, list):
        return [answer(item, currency) for item in value]
    return currency if value == CURRENCY else value


LINK = _req("link", _("The page, post or profile to deliver to: an http(s) address."))
POST_LINK = _req("link", _("The post to deliver to."))
QUANTITY = _req("quantity", _("How many units: within the service's min and max."))
COMMENTS = _req("comments", _("The comments, one a line."))
USERNAMES = _req("usernames", _("Usernames, one a line."))
# The example answers, as each dialect sends them (v2: Perfect Panel, v1: SmartPanel).
ADDED: dict[str, Any] = {"v2": {"order": 23501}, "v1": {"status": "success", "order": 23501}}
SERVICE: dict[str, Any] = {
    "v2": {
        "service": 1,
        "name": "Instagram Followers [Refill 30 days]",
        "type": "Default",
        "category": "Instagram Followers",
        "rate": "0.9",
        "min": "50",
        "max": "10000",
        "dripfeed": True,
        "refill": True,
        "cancel": True,
    },
    "v1": {
        "service": "1",
        "name": "Instagram Followers [Refill 30 days]",
        "category": "Instagram Followers",
        "rate": "0.9",
        "min": "50",
        "max": "10000",
        "type": "default",
        "desc": "Real-looking profiles.",
        "dripfeed": 1,
    },
}
PARTIAL: dict[str, Any] = {
    "v2": {
        "charge": "0.27819",
        "start_count": "3572",
        "status": "Partial",
        "remains": "157",
        "currency": CURRENCY,
    },
    "v1": {
        "order": "23501",
        "status": "Partial",
        "charge": "0.2782",
        "start_count": "3572",
        "remains": "157",
    },
}
DRIP_FEED: dict[str, Any] = {
    "v2": {
        "charge": "1.80000",
        "start_count": "0",
        "status": "In progress",
        "remains": "1500",
        "currency": CURRENCY,
        "runs": "1",
        "orders": [23511],
    },
    "v1": {
        "order": "23510",
        "status": "In progress",
        "charge": "1.8000",
        "start_count": "0",
        "remains": "1500",
        "runs": "1",
        "orders": [23511],
    },
}
SUBSCRIPTION: dict[str, Any] = {
    "v2": {
        "status": "Active",
        "expiry": "31/12/2027",
        "posts": "2",
        "orders": [23521, 23533],
        "charge": "0.18000",
        "currency": CURRENCY,
    },
    "v1": {"status": "Active", "expiry": "31/12/2027", "posts": "2", "orders": [23521, 23533]},
}
BAD_ORDER_IN_BATCH: dict[str, Any] = {"v2": {"error": "Incorrect order ID"}, "v1": "Incorrect order ID"}
# refill, refill_status and cancel answer alike in both dialects.
REFILL = {"refill": "17"}
REFILLS = [
    {"order": 23501, "refill": 17},
    {"order": 23502, "refill": {"error": "Refill is not available for this order"}},
]
REFILL_STATUS = {"status": "Completed"}
REFILL_STATUSES = [
    {"refill": 17, "status": "Completed"},
    {"refill": 18, "status": {"error": "Refill not found"}},
]
CANCELS = [{"order": 23501, "cancel": 1}, {"order": 9, "cancel": {"error": "Incorrect order ID"}}]
BALANCE: dict[str, Any] = {
    "v2": {"balance": "100.84292", "currency": CURRENCY},
    "v1": {"status": "success", "balance": "100.84", "currency": CURRENCY},
}


def _alike(shape: Any) -> dict[str, Any]:
    return {"v2": shape, "v1": shape}


_PLACING = (
    Action(
        "services",
        "services",
        _("The price list: every service you can order, with your rate per 1000."),
        (),
        (Example({}, [SERVICE["v2"]], [SERVICE["v1"]]),),
        _(
            "The rate is your price per 1000 units (per package for package types) in the panel's "
            "currency; if the operator gave you your own rate, that is the one shown and charged."
        ),
    ),
    Action(
        "add",
        "add",
        _("Place an order. It is charged at once; if the balance does not cover it, nothing is placed."),
        (
            _req("service", _("The service's ID, from the price list.")),
            _req("…", _("The parameters of the service's type: see the types below.")),
        ),
        (
            Example(
                {"service": "1", "link": "https://instagram.com/yourprofile", "quantity": "1000"}, **ADDED
            ),
        ),
        _(
            "Send an Idempotency-Key header (or an idempotency_key parameter) and retry freely: the same "
            "key within 24 hours answers the first order and places nothing new."
        ),
    ),
)
_FOLLOWING = (
    Action(
        "status",
        "status",
        _("Follow one order."),
        (_req("order", _("The order's ID.")),),
        (
            Example({"order": "23501"}, **PARTIAL),
            Example(
                {"order": "23510"},
                **DRIP_FEED,
                title=_("A drip-feed order also tells its runs so far and their orders."),
            ),
            Example({"order": "23520"}, **SUBSCRIPTION, title=_("A subscription answers its own shape.")),
        ),
        _(
            "Statuses, exactly as written: Pending, In progress, Processing, Completed, Partial, "
            "Canceled. Partial and Canceled orders are refunded for what was not delivered."
        ),
    ),
    Action(
        "status",
        "multi-status",
        _("Follow up to 100 orders at once."),
        (_req("orders", _("Order IDs, comma-separated (at most 100).")),),
        (
            Example(
                {"orders": "23501,1"},
                {"23501": PARTIAL["v2"], "1": BAD_ORDER_IN_BATCH["v2"]},
                {"23501": PARTIAL["v1"], "1": BAD_ORDER_IN_BATCH["v1"]},
            ),
        ),
    ),
)
_AFTER_CARE = (
    Action(
        "refill",
        "refill",
        _(
            "Ask for a refill of a completed (or partial) order that dropped, on a "
            "service with refill, within its refill window."
        ),
        (
            _req("order", _("The order's ID.")),
            _opt("orders", _("Or: order IDs, comma-separated (at most 100).")),
        ),
        (
            Example({"order": "23501"}, **_alike(REFILL)),
            Example({"orders": "23501,23502"}, **_alike(REFILLS)),
        ),
    ),
    Action(
        "refill_status",
        "refill-status",
        _("Follow a refill."),
        (
            _req("refill", _("The refill's ID.")),
            _opt("refills", _("Or: refill IDs, comma-separated (at most 100).")),
        ),
        (
            Example({"refill": "17"}, **_alike(REFILL_STATUS)),
            Example({"refills": "17,18"}, **_alike(REFILL_STATUSES)),
        ),
        _("Refill statuses: Pending, In progress, Completed, Rejected, Canceled."),
    ),
    Action(
        "cancel",
        "cancel",
        _("Ask to cancel orders not finished yet, on a service with cancel."),
        (_req("orders", _("Order IDs, comma-separated (at most 100); a single order=ID works too.")),),
        (Example({"orders": "23501,9"}, **_alike(CANCELS)),),
        _(
            "1 means the request was accepted. The money comes back when the order really ends "
            "Canceled (or Partial), not before."
        ),
    ),
    Action("balance", "balance", _("Your balance."), (), (Example({}, **BALANCE),)),
)
# Every action of the API, in the page's order.
ACTIONS: tuple[Action, ...] = (*_PLACING, *_FOLLOWING, *_AFTER_CARE)

_DELAYS = format_lazy(
    _("Minutes to wait after a post appears: {delays} or {last}."),
    delays=", ".join(str(delay) for delay in sorted(SUBSCRIPTION_DELAYS)[:-1]),
    last=max(SUBSCRIPTION_DELAYS),
)


_WHOM = _req("username", _("The account whose followers are mentioned."))
_TYPE_DOCS: tuple[TypeDoc, ...] = (
    TypeDoc(
        T.DEFAULT,
        _(
            "Followers, likes, views …: quantity units to the link. With drip-feed, runs "
            "deliveries of quantity each, every interval minutes (charged for all at once)."
        ),
        (
            LINK,
            QUANTITY,
            _opt("runs", _("Drip-feed: number of deliveries, at least 2.")),
            _opt("interval", _("Drip-feed: minutes between deliveries, at least 1.")),
        ),
        (
            {"link": "https://instagram.com/yourprofile", "quantity": "1000"},
            {"link": "https://instagram.com/yourprofile", "quantity": "500", "runs": "4", "interval": "60"},
        ),
    ),
    TypeDoc(
        T.PACKAGE,
        _("One package at the flat rate."),
        (LINK,),
        ({"link": "https://instagram.com/yourprofile"},),
        _("one package"),
    ),
    TypeDoc(
        T.CUSTOM_COMMENTS,
        _("Your own comments on a post, charged per comment."),
        (POST_LINK, COMMENTS),
        ({"link": "https://instagram.com/p/POST", "comments": "Great shot!\nLove it\nWow"},),
        _("the number of comments"),
    ),
    TypeDoc(
        T.CUSTOM_COMMENTS_PACKAGE,
        _("The comments of one package, at the flat rate."),
        (POST_LINK, COMMENTS),
        ({"link": "https://instagram.com/p/POST", "comments": "Great shot!\nLove it"},),
        _("one package"),
    ),
    TypeDoc(
        T.MENTIONS,
        _("Mentions of the accounts listed."),
        (POST_LINK, QUANTITY, USERNAMES),
        ({"link": "https://instagram.com/p/POST", "quantity": "100", "usernames": "alice\nbob"},),
    ),
    TypeDoc(
        T.MENTIONS_WITH_HASHTAGS,
        _("Mentions of the accounts listed, with hashtags."),
        (POST_LINK, QUANTITY, USERNAMES, _req("hashtags", _("Hashtags, one a line."))),
        (
            {
                "link": "https://instagram.com/p/POST",
                "quantity": "100",
                "usernames": "alice\nbob",
                "hashtags": "#cats\n#dogs",
            },
        ),
    ),
    TypeDoc(
        T.MENTIONS_CUSTOM_LIST,
        _("One mention per username listed, charged per username."),
        (POST_LINK, USERNAMES),
        ({"link": "https://instagram.com/p/POST", "usernames": "user1\nuser2\nuser3"},),
        _("the number of usernames"),
    ),
    TypeDoc(
        T.MENTIONS_HASHTAG,
        _("Mentions of users taken from a hashtag."),
        (POST_LINK, QUANTITY, _req("hashtag", _("The hashtag to take users from."))),
        ({"link": "https://instagram.com/p/POST", "quantity": "100", "hashtag": "cats"},),
    ),
    TypeDoc(
        T.MENTIONS_USER_FOLLOWERS,
        _("Mentions of the followers of an account."),
        (POST_LINK, QUANTITY, _WHOM),
        ({"link": "https://instagram.com/p/POST", "quantity": "100", "username": "natgeo"},),
    ),
    TypeDoc(
        T.MENTIONS_MEDIA_LIKERS,
        _("Mentions of the people who liked a post."),
        (POST_LINK, QUANTITY, _req("media", _("The post whose likers are mentioned."))),
        (
            {
                "link": "https://instagram.com/p/POST",
                "quantity": "100",
                "media": "https://instagram.com/p/OTHER",
            },
        ),
    ),
    TypeDoc(
        T.COMMENT_LIKES,
        _("Likes on one comment under a post."),
        (POST_LINK, QUANTITY, _req("username", _("Who wrote the comment."))),
        ({"link": "https://instagram.com/p/POST", "quantity": "50", "username": "commenter"},),
    ),
    TypeDoc(
        T.COMMENT_REPLIES,
        _("Replies to one comment under a post, charged per reply."),
        (
            POST_LINK,
            _req("username", _("Who wrote the comment.")),
            _req("comments", _("The replies, one a line.")),
        ),
        ({"link": "https://instagram.com/p/POST", "username": "commenter", "comments": "Agreed\nSo true"},),
        _("the number of replies"),
    ),
    TypeDoc(
        T.POLL,
        _("Votes for one answer of a poll."),
        (POST_LINK, QUANTITY, _req("answer_number", _("The answer's number: 1, 2, …"))),
        ({"link": "https://twitter.com/user/status/1", "quantity": "100", "answer_number": "2"},),
    ),
    TypeDoc(
        T.INVITES_FROM_GROUPS,
        _("Invites from the members of other groups."),
        (LINK, QUANTITY, _req("groups", _("The groups, one a line."))),
        (
            {
                "link": "https://t.me/yourgroup",
                "quantity": "100",
                "groups": "https://t.me/group1\nhttps://t.me/group2",
            },
        ),
    ),
    TypeDoc(
        T.SEO,
        _("Visits through searches for keywords."),
        (LINK, QUANTITY, _req("keywords", _("The search keywords, one a line."))),
        ({"link": "https://yoursite.example", "quantity": "1000", "keywords": "buy cat food\ncat toys"},),
    ),
    TypeDoc(
        T.SUBSCRIPTIONS,
        _(
            "Every new post of an account gets between min and max units. Nothing is "
            "charged when you subscribe: each post's order is charged when it is created, "
            "and the subscription pauses if your balance cannot cover one."
        ),
        (
            _req("username", _("The account to follow.")),
            _req("min", _("The fewest units per post.")),
            _req("max", _("The most units per post.")),
            _opt("posts", _("How many new posts to cover; none: unlimited.")),
            _opt("old_posts", _("How many existing posts to cover too.")),
            _opt("delay", _DELAYS),
            _opt("expiry", _("The last day, as d/m/Y, in the future.")),
        ),
        (
            {
                "username": "natgeo",
                "min": "100",
                "max": "200",
                "posts": "10",
                "delay": "30",
                "expiry": "31/12/2027",
            },
        ),
        _("each post's units"),
    ),
)


_BY_TYPE = {doc.type: doc for doc in _TYPE_DOCS}


def type_docs() -> list[TypeDoc]:
    """The documentation of every type an order can be drafted for, in drafting's order (a type
    with no entry here fails the page, and its test, rather than go undocumented)."""
    return [_BY_TYPE[ServiceType(code)] for code in ORDER_TYPES]
