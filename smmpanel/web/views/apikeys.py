"""The customer's API key (created or rotated, shown once) and the API documentation."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Min, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_POST

from smmpanel.accounts.models import ApiKey, User
from smmpanel.accounts.services import rotate_api_key
from smmpanel.api.dialects import DIALECTS, OrderView, ServiceView, SubscriptionView
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import ServiceType

T = ServiceType


def _endpoints(request: HttpRequest) -> dict[str, str]:
    return {"v2": request.build_absolute_uri("/api/v2"), "v1": request.build_absolute_uri("/api/v1")}


def _active_keys(user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user, is_active=True)


def _api_page(request: HttpRequest, new_key: str = "", confirm_rotation: bool = False) -> HttpResponse:
    assert isinstance(request.user, User)
    keys = _active_keys(request.user).order_by("-created_at", "-id")
    context = {
        "nav": "api",
        "keys": list(keys.only("prefix", "created_at", "name")),
        "new_key": new_key,
        "confirm_rotation": confirm_rotation,
        "api_enabled": request.user.api_enabled,
        "endpoints": _endpoints(request),
    }
    response = render(request, "web/api/page.html", context)
    if new_key:
        # The raw key is in this answer only: no cache, no back-button copy.
        add_never_cache_headers(response)
    return response


@login_required
def api_page(request: HttpRequest) -> HttpResponse:
    return _api_page(request)


@login_required
@require_POST
def new_key(request: HttpRequest) -> HttpResponse:
    """Deactivate the customer's keys and show a new one, once, in this response.

    Replacing a key that works asks first (a second form, so without JavaScript too): the old key
    stops at once, for every client using it. A customer without a key gets one straight away.
    """
    assert isinstance(request.user, User)
    if request.POST.get("confirm") != "yes" and _active_keys(request.user).exists():
        return _api_page(request, confirm_rotation=True)
    _key, raw = rotate_api_key(request.user)
    return _api_page(request, new_key=raw)


# The documentation, as data: every action and every service type has an entry, so the
# page cannot silently miss one (tests/test_web_api_page.py checks the types).


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


V1, V2 = DIALECTS["v1"], DIALECTS["v2"]
LINK = _req("link", _("The page, post or profile to deliver to: an http(s) address."))
POST_LINK = _req("link", _("The post to deliver to."))
QUANTITY = _req("quantity", _("How many units: within the service's min and max."))
COMMENTS = _req("comments", _("The comments, one a line."))
USERNAMES = _req("usernames", _("Usernames, one a line."))
_PARTIAL = OrderView(23501, "Partial", Decimal("0.27819"), 3572, 157)
_DRIP = OrderView(23510, "In progress", Decimal("1.8"), 0, 1500, runs=[23511])
_SUBSCRIPTION = SubscriptionView(23520, "Active", "31/12/2027", [23521, 23533], Decimal("0.18"))
_SERVICE = ServiceView(
    1,
    "Instagram Followers [Refill 30 days]",
    "default",
    "Default",
    "Instagram Followers",
    Decimal("0.9"),
    50,
    10000,
    True,
    True,
    True,
    "Real-looking profiles.",
)
_BATCH_ERROR_V2 = V2.bad_order_in_batch()
_BATCH_ERROR_V1 = V1.bad_order_in_batch()


def _actions(currency: str) -> tuple[Action, ...]:
    return (
        Action(
            "services",
            "services",
            _("The price list: every service you can order, with your rate per 1000."),
            (),
            (Example({}, [V2.service(_SERVICE)], [V1.service(_SERVICE)]),),
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
                    {"service": "1", "link": "https://instagram.com/yourprofile", "quantity": "1000"},
                    V2.added(23501),
                    V1.added(23501),
                ),
            ),
            _(
                "Send an Idempotency-Key header (or an idempotency_key parameter) and retry freely: the same "
                "key within 24 hours answers the first order and places nothing new."
            ),
        ),
        Action(
            "status",
            "status",
            _("Follow one order."),
            (_req("order", _("The order's ID.")),),
            (
                Example({"order": "23501"}, V2.order(_PARTIAL, currency), V1.order(_PARTIAL, currency)),
                Example(
                    {"order": "23510"},
                    V2.order(_DRIP, currency),
                    V1.order(_DRIP, currency),
                    _("A drip-feed order also tells its runs so far and their orders."),
                ),
                Example(
                    {"order": "23520"},
                    V2.subscription(_SUBSCRIPTION, currency),
                    V1.subscription(_SUBSCRIPTION, currency),
                    _("A subscription answers its own shape."),
                ),
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
                    {"23501": V2.order(_PARTIAL, currency), "1": _BATCH_ERROR_V2},
                    {"23501": V1.order(_PARTIAL, currency), "1": _BATCH_ERROR_V1},
                ),
            ),
        ),
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
                Example({"order": "23501"}, V2.refill(17), V1.refill(17)),
                Example(
                    {"orders": "23501,23502"},
                    [V2.refill_item("23501", 17, ""), V2.refill_item("23502", None, "no_refill")],
                    [V1.refill_item("23501", 17, ""), V1.refill_item("23502", None, "no_refill")],
                ),
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
                Example({"refill": "17"}, V2.refill_status("Completed"), V1.refill_status("Completed")),
                Example(
                    {"refills": "17,18"},
                    [V2.refill_status_item("17", "Completed"), V2.refill_status_item("18", None)],
                    [V1.refill_status_item("17", "Completed"), V1.refill_status_item("18", None)],
                ),
            ),
            _("Refill statuses: Pending, In progress, Completed, Rejected, Canceled."),
        ),
        Action(
            "cancel",
            "cancel",
            _("Ask to cancel orders not finished yet, on a service with cancel."),
            (_req("orders", _("Order IDs, comma-separated (at most 100); a single order=ID works too.")),),
            (
                Example(
                    {"orders": "23501,9"},
                    [V2.cancel_item("23501", None), V2.cancel_item("9", "bad_order")],
                    [V1.cancel_item("23501", None), V1.cancel_item("9", "bad_order")],
                ),
            ),
            _(
                "1 means the request was accepted. The money comes back when the order really ends "
                "Canceled (or Partial), not before."
            ),
        ),
        Action(
            "balance",
            "balance",
            _("Your balance."),
            (),
            (
                Example(
                    {}, V2.balance(Decimal("100.84292"), currency), V1.balance(Decimal("100.84292"), currency)
                ),
            ),
        ),
    )


_WHOM = _req("username", _("The account whose followers are mentioned."))
TYPES: tuple[TypeDoc, ...] = (
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
            _opt(
                "delay",
                _(
                    "Minutes to wait after a post appears: 0, 5, 10, 15, 20, 30, 40, 50, 60, 90, "
                    "120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540 or 600."
                ),
            ),
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


# The types' names in the reader's language; the API's own name (the v2 label) is shown beside them.
TYPE_LABELS: dict[str, Promise] = {
    T.DEFAULT: pgettext_lazy("service type", "Default"),
    T.PACKAGE: pgettext_lazy("service type", "Package"),
    T.CUSTOM_COMMENTS: pgettext_lazy("service type", "Custom Comments"),
    T.CUSTOM_COMMENTS_PACKAGE: pgettext_lazy("service type", "Custom Comments Package"),
    T.MENTIONS: pgettext_lazy("service type", "Mentions"),
    T.MENTIONS_WITH_HASHTAGS: pgettext_lazy("service type", "Mentions with Hashtags"),
    T.MENTIONS_CUSTOM_LIST: pgettext_lazy("service type", "Mentions Custom List"),
    T.MENTIONS_HASHTAG: pgettext_lazy("service type", "Mentions Hashtag"),
    T.MENTIONS_USER_FOLLOWERS: pgettext_lazy("service type", "Mentions User Followers"),
    T.MENTIONS_MEDIA_LIKERS: pgettext_lazy("service type", "Mentions Media Likers"),
    T.COMMENT_LIKES: pgettext_lazy("service type", "Comment Likes"),
    T.COMMENT_REPLIES: pgettext_lazy("service type", "Comment Replies"),
    T.POLL: pgettext_lazy("service type", "Poll"),
    T.INVITES_FROM_GROUPS: pgettext_lazy("service type", "Invites from Groups"),
    T.SEO: pgettext_lazy("service type", "SEO"),
    T.SUBSCRIPTIONS: pgettext_lazy("service type", "Subscriptions"),
}


def _curl(endpoint: str, action: str, params: Mapping[str, str]) -> str:
    """A copy-paste curl command; list values use bash's $'…' so the line breaks are real."""
    parts = [f"curl -s {endpoint}", "-d key=$KEY", f"-d action={action}"]
    for name, value in params.items():
        if "\n" in value:
            quoted = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
            parts.append(f"--data-urlencode {name}=$'{quoted}'")
        else:
            parts.append(f"-d {name}={value}")
    lines, line = [], parts[0]
    for part in parts[1:]:
        if len(line) + len(part) > 70:
            lines.append(line + " \\")
            line = "     " + part
        else:
            line += " " + part
    return "\n".join([*lines, line])


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _example_ids() -> dict[str, int]:
    """The panel's own service of each type, so the examples run as they are."""
    rows = (
        Service.objects.filter(enabled=True, category__enabled=True)
        .order_by()
        .values("type")
        .annotate(first=Min("id"))
    )
    return {row["type"]: row["first"] for row in rows}


def docs(request: HttpRequest) -> HttpResponse:
    endpoints = _endpoints(request)
    currency = settings.SMMPANEL_CURRENCY
    actions = [
        {
            "action": a,
            "examples": [
                {
                    "title": e.title,
                    "curl_v2": _curl(endpoints["v2"], a.name, e.params),
                    "curl_v1": _curl(endpoints["v1"], a.name, e.params),
                    "v2": _json(e.v2),
                    "v1": _json(e.v1),
                }
                for e in a.examples
            ],
        }
        for a in _actions(currency)
    ]
    ids = _example_ids()
    types = []
    for number, t in enumerate(TYPES, start=1):
        service = str(ids.get(t.type.value, number))
        types.append(
            {
                "doc": t,
                "code": t.type.value,
                "name": str(TYPE_LABELS.get(t.type, t.type.label)),
                "api_name": t.type.label,
                "examples": [_curl(endpoints["v2"], "add", {"service": service, **ex}) for ex in t.examples],
                "v2": _json(V2.added(23501)),
                "v1": _json(V1.added(23501)),
            }
        )
    context = {"nav": "api", "endpoints": endpoints, "actions": actions, "types": types, "currency": currency}
    return render(request, "web/api/docs.html", context)
