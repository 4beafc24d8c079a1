"""A property test of `add`: whatever parameters arrive, the answer has one of two
shapes and the money adds up.

Hypothesis builds sequences of one to three `add` calls of the demo customer,
each a parameter map for a random service type that is valid, valid with a few
fields made hostile, or hostile through and through (unknown or junk service
ids, links, counts and lists from `st.text()`, with control characters and any
unicode), plus random extra keys; sent as a form or as a JSON body, through the
real WSGI application. The demo customer's balance is set small for each
example, so "Not enough funds on balance" is hit as well as successes.

After every call:
- HTTP 200, `Content-Type: application/json`, a JSON object that is exactly
  `{"order": int}` (v2) / `{"status": "success", "order": int}` (v1), or exactly
  one non-empty "error" string, one of the texts docs/api.md words;
- an order answered: exactly one new order, with that id, the caller's, and one
  new ledger entry that debits its charge; an error: no order, no ledger entry,
  no balance change;
- every balance equals the sum of its ledger entries and none is negative.

Each example runs in a savepoint that is rolled back, so examples are
independent and a failure shrinks to a reproducible one.
"""

import re
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from smmpanel.accounts.models import User
from smmpanel.catalog import demo
from smmpanel.catalog.models import Service
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders.drafting import SUBSCRIPTION_DELAYS
from smmpanel.orders.models import Order

EXAMPLES = 150  # per dialect; about 300 `add` calls, a few seconds on either database

# Balances small enough that a valid order is often refused for funds:
# a Default order of 100 costs 0.09, the package 4.50, the least SEO order 0.75.
BALANCES = [Decimal(b) for b in ("0", "0.01", "0.09", "0.5", "3", "25")]

# --- the texts an answer may carry (docs/api.md, "Error strings") ------------------

PARAMETERS = (
    "service|link|quantity|comments|usernames|hashtags|hashtag|username|media|"
    "answer_number|groups|keywords|min|max|posts|old_posts|delay|expiry"
)
SHARED_ERRORS = [
    "Incorrect quantity",
    "Not enough funds on balance",
    "You have active order with this link. Please wait until order being completed.",
    "Incorrect subscription parameters",
    # Not in docs/api.md's table: the panel's words for a control character in a
    # one-line parameter or a bad answer_number.
    f"Incorrect parameter: (?:{PARAMETERS})",
]
ERRORS = {
    "v2": SHARED_ERRORS
    + [
        f"Missing required parameter: (?:{PARAMETERS})",
        "Incorrect service ID",
        "Incorrect link",
        r"Quantity less than minimal (?P<min>\d+)",
        r"Quantity more than maximum (?P<max>\d+)",
        "Drip-feed is not supported for this service",
        "Incorrect runs or interval",
    ],
    "v1": SHARED_ERRORS
    + [
        "There are missing required parameters. Please check your API Manual",
        "Service ID does not exists",
        "Bad Link",
        r"Quantity must to be greater than or equal to minimum amount (?P<min>\d+)",
        r"Quantity must to be less than or equal to maximum amount (?P<max>\d+)",
        "This services does not support Dripfeed feature!",
        "Invalid Interval in minutes",
    ],
}
KNOWN_ERROR = {
    dialect: re.compile("|".join(f"(?:{e})" for e in errors)) for dialect, errors in ERRORS.items()
}

# --- strategies ------------------------------------------------------------------------

# (min, max) by v2 type name, from the demo catalogue.
BOUNDS = {str(row[2].label): (row[4], row[5]) for row in demo.CATALOGUE}
TYPES = sorted(BOUNDS)


def as_text(values: st.SearchStrategy[Any]) -> st.SearchStrategy[str]:
    return values.map(str)


junk = st.text(max_size=30)
# Strings that look like numbers to a person but not to a strict parser, and the edges.
numberish = st.sampled_from(
    ["", " ", "0", "-1", "+5", "1.5", "1e3", "0x10", "١٢٣", "１２", "9" * 19, "9" * 40, "12abc", "nan"]
)
links_valid = st.sampled_from(
    [
        "https://instagram.com/p/a",
        "https://instagram.com/p/a",  # twice: repeats hit the one-active-order-per-link rule
        "instagram.com/p/b",
        "http://x.com/c?d=1&e=2#f",
        "  https://пример.рф/путь  ",
        "HTTPS://X.COM/UPPER",
        "x.com:8080/p",
    ]
)
links_hostile = st.sampled_from(
    [
        "javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "ftp://x.com/a",
        "https://",
        "//x.com",
        "https://exa mple.com",
        "https://x.com/a\nb",
        "https://x.com/\x00",
        "https://x.com/" + "a" * 2100,
        "https://[::1",
        "@:",
    ]
)
line_items = st.sampled_from(
    ["nice", "  great  ", "", "#tag", "@user", "emoji 😀", "tab\there", "\x00", "\x1b[31m", "\u2028", "a\rb"]
) | st.text(max_size=12)
separators = st.sampled_from(["\n", "\r\n", "\r", ",", "\n\n"])


def line_list(min_size: int = 0, max_size: int = 15) -> st.SearchStrategy[str]:
    return st.builds(
        lambda items, sep: sep.join(items),
        st.lists(line_items, min_size=min_size, max_size=max_size),
        separators,
    )


def clean_list(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    word = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
    return st.builds(
        lambda items, sep: sep.join(items),
        st.lists(word, min_size=min_size, max_size=max_size),
        st.sampled_from(["\n", "\r\n", "\n\n  "]),
    )


def count(low: int, high: int) -> st.SearchStrategy[str]:
    """A valid count, mostly near the low end (cheap orders)."""
    return as_text(st.integers(low, min(high, low * 3)) | st.integers(low, high))


def future_date() -> st.SearchStrategy[str]:
    return st.integers(1, 400).map(
        lambda days: (timezone.localdate() + timedelta(days=days)).strftime("%d/%m/%Y")
    )


# Hostile values by parameter; a hostile map mixes these with valid-looking ones.
HOSTILE: dict[str, st.SearchStrategy[Any]] = {
    "link": links_valid | links_hostile | junk,
    "quantity": as_text(st.integers(-10, 200_000)) | st.integers(0, 10**20) | numberish | junk,
    "runs": st.sampled_from(["", "0", "1", "2", "3", "10000", "10001", "-2", "x"]) | numberish | junk,
    "interval": st.sampled_from(["", "0", "1", "15", "525600", "525601", "x"]) | numberish | junk,
    "comments": line_list() | junk,
    "usernames": line_list() | junk,
    "hashtags": line_list() | junk,
    "hashtag": st.sampled_from(["#sun", "sun", " ", "#a\n#b", "\x00"]) | junk,
    "username": st.sampled_from(["someone", "@ann", "", " ", "a\nb", "a\tb"]) | junk,
    "media": links_valid | links_hostile | junk,
    "answer_number": st.sampled_from(["1", "2", "0", "01", "-1", "9" * 20, "x"]) | numberish | junk,
    "groups": line_list() | junk,
    "keywords": line_list() | junk,
    "min": as_text(st.sampled_from([0, 1, 49, 50, 100, 5000, 5001])) | numberish | junk,
    "max": as_text(st.sampled_from([0, 1, 49, 50, 100, 5000, 5001])) | numberish | junk,
    "posts": st.sampled_from(["", "0", "1", "5", "-1"]) | numberish | junk,
    "old_posts": st.sampled_from(["", "0", "1", "5", "-1"]) | numberish | junk,
    "delay": as_text(st.sampled_from([0, 1, 5, 7, 600, 601, -5])) | numberish | junk,
    "expiry": future_date()
    | st.sampled_from(["01/01/2000", "31/02/2030", "2030-01-01", "1/1/2099", "99/99/9999"])
    | junk,
}
FIELDS = sorted(HOSTILE)
# The parameters each type reads besides `service` (docs/api.md, the `add` table).
TYPE_FIELDS = {
    "Default": ["link", "quantity", "runs", "interval"],
    "Package": ["link"],
    "Custom Comments": ["link", "comments"],
    "Custom Comments Package": ["link", "comments"],
    "Mentions": ["link", "quantity", "usernames"],
    "Mentions with Hashtags": ["link", "quantity", "usernames", "hashtags"],
    "Mentions Custom List": ["link", "usernames"],
    "Mentions Hashtag": ["link", "quantity", "hashtag"],
    "Mentions User Followers": ["link", "quantity", "username"],
    "Mentions Media Likers": ["link", "quantity", "media"],
    "Comment Likes": ["link", "quantity", "username"],
    "Comment Replies": ["link", "username", "comments"],
    "Poll": ["link", "quantity", "answer_number"],
    "Invites from Groups": ["link", "quantity", "groups"],
    "SEO": ["link", "quantity", "keywords"],
    "Subscriptions": ["username", "min", "max", "posts", "old_posts", "delay", "expiry"],
}
# Names the transport or the API gives a meaning of its own: never random extra keys.
RESERVED = {"key", "action", "idempotency_key", "service", *FIELDS}
extra_keys = st.dictionaries(
    st.text(min_size=1, max_size=12).filter(lambda name: name.strip().lower() not in RESERVED),
    st.text(max_size=20),
    max_size=3,
)


def valid_fields(type_name: str) -> st.SearchStrategy[dict[str, Any]]:
    """Parameters that make a valid order of this type (funds permitting)."""
    low, high = BOUNDS[type_name]
    link = {"link": links_valid}
    quantity = {"quantity": count(low, high)}
    fields: dict[str, st.SearchStrategy[Any]]
    optional: dict[str, st.SearchStrategy[Any]] = {}
    if type_name == "Default":
        fields = link | quantity
        optional = {"runs": as_text(st.integers(2, 5)), "interval": as_text(st.integers(1, 60))}
    elif type_name == "Package":
        fields = link
    elif type_name in ("Custom Comments", "Mentions Custom List"):
        name = "comments" if type_name == "Custom Comments" else "usernames"
        fields = link | {name: clean_list(low, min(high, low + 10))}
    elif type_name == "Custom Comments Package":
        fields = link | {"comments": clean_list(1, 5)}
    elif type_name == "Comment Replies":
        fields = link | {"username": st.just("owner"), "comments": clean_list(low, low + 5)}
    elif type_name == "Subscriptions":
        return st.tuples(st.integers(low, high), st.integers(low, high)).flatmap(
            lambda pair: st.fixed_dictionaries(
                {
                    "username": st.just("someone"),
                    "min": st.just(str(min(pair))),
                    "max": st.just(str(max(pair))),
                },
                optional={
                    "posts": as_text(st.integers(1, 50)),
                    "old_posts": as_text(st.integers(0, 5)),
                    "delay": as_text(st.sampled_from(sorted(SUBSCRIPTION_DELAYS))),
                    "expiry": future_date(),
                },
            )
        )
    else:
        extra = {
            "Mentions": {"usernames": clean_list(1, 5)},
            "Mentions with Hashtags": {"usernames": clean_list(1, 5), "hashtags": st.just("#a\n#b")},
            "Mentions Hashtag": {"hashtag": st.just("#sun")},
            "Mentions User Followers": {"username": st.just("star")},
            "Mentions Media Likers": {"media": links_valid},
            "Comment Likes": {"username": st.just("owner")},
            "Poll": {"answer_number": as_text(st.integers(1, 4))},
            "Invites from Groups": {"groups": clean_list(1, 3)},
            "SEO": {"keywords": clean_list(1, 3)},
        }[type_name]
        fields = link | quantity | extra
    return st.fixed_dictionaries(fields, optional=optional)


def service_value(ids: dict[str, int], type_name: str) -> st.SearchStrategy[Any]:
    real = ids[type_name]
    return st.sampled_from([real, str(real), f" {real} ", f"{real:03d}"]) | st.one_of(
        st.just(""),
        st.just(999_999),
        as_text(st.integers(-3, 0)),
        st.just(f"{real}.0"),
        st.just(f"{real}abc"),
        numberish,
        junk,
    )


@st.composite
def add_params(draw: st.DrawFn, ids: dict[str, int]) -> dict[str, Any]:
    type_name = draw(st.sampled_from(TYPES))
    kind = draw(st.sampled_from(["valid", "mutated", "hostile"]))
    if kind == "hostile":
        params = draw(st.fixed_dictionaries({}, optional=HOSTILE))
        # Mostly a real service, so the hostile fields get looked at.
        real = draw(st.integers(0, 2))
        params["service"] = ids[type_name] if real else draw(service_value(ids, type_name))
    else:
        params = draw(valid_fields(type_name))
        params["service"] = ids[type_name]
        if kind == "mutated":
            # Mostly the type's own parameters: a foreign one is ignored by the panel.
            name = st.sampled_from(["service", *TYPE_FIELDS[type_name]]) | st.sampled_from(FIELDS)
            for changed in draw(st.lists(name, min_size=1, max_size=3, unique=True)):
                if changed == "service":
                    params["service"] = draw(service_value(ids, type_name))
                elif draw(st.integers(0, 2)):
                    params[changed] = draw(HOSTILE[changed])
                else:
                    params.pop(changed, None)
    return params | draw(extra_keys)


# --- the property ----------------------------------------------------------------------


class Ledger:
    """What an `add` may change, read before and after it."""

    def __init__(self, user: User) -> None:
        user.refresh_from_db()
        self.balance = user.balance
        self.orders = Order.objects.count()
        self.entries = LedgerEntry.objects.count()
        self.last_entry = LedgerEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def send(api: Any, dialect: str, transport: str, params: dict[str, Any]) -> Any:
    if transport == "json":
        response = api.client.post(f"/api/{dialect}", json=params)
    else:
        response = api.client.post(f"/api/{dialect}", data=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()


def check_shape(dialect: str, body: Any, bounds: dict[int, tuple[int, int]], service: Any) -> str:
    """The answer's outcome: "order", "no_funds" or "error"; fails on any other shape."""
    assert isinstance(body, dict), body
    if "order" in body:
        expected_keys = {"order"} if dialect == "v2" else {"status", "order"}
        assert set(body) == expected_keys, body
        assert type(body["order"]) is int and body["order"] > 0, body
        if dialect == "v1":
            assert body["status"] == "success", body
        return "order"
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, str) and error.strip(), body
    match = KNOWN_ERROR[dialect].fullmatch(error)
    assert match, f"not an error text of docs/api.md: {error!r}"
    limits = {k: int(v) for k, v in match.groupdict().items() if v is not None}
    if limits:
        # The bound quoted is the service's own.
        low, high = bounds[int(str(service).strip())]
        assert limits in ({"min": low}, {"max": high}), (error, low, high)
    return "no_funds" if error == "Not enough funds on balance" else "error"


def check_effects(user: User, outcome: str, body: Any, before: Ledger) -> None:
    after = Ledger(user)
    if outcome == "order":
        order = Order.objects.get(pk=body["order"])
        assert after.orders == before.orders + 1
        assert order.user_id == user.pk and order.charge >= 0
        if order.kind == "subscription":  # nothing is charged until a post's order is created
            assert order.charge == 0 and after.entries == before.entries
        else:
            entry = LedgerEntry.objects.get(id__gt=before.last_entry)
            assert (entry.order_id, entry.kind, entry.amount) == (order.pk, "charge", -order.charge)
        assert after.balance == before.balance - order.charge
    else:
        assert (after.orders, after.entries, after.balance) == (before.orders, before.entries, before.balance)
    assert after.balance >= 0
    assert list(mismatches()) == []


@pytest.fixture
def seeded(db: None, settings: Any) -> tuple[dict[str, int], User, str]:
    settings.SMMPANEL_API_RATE = 0  # hundreds of requests on one key
    ids = demo.seed()
    return ids, User.objects.get(username=demo.DEMO_CUSTOMER), demo.fresh_key()


@pytest.mark.parametrize("dialect", ["v2", "v1"])
def test_add_answers_one_of_two_shapes_and_the_money_adds_up(api, seeded, dialect):
    ids, user, key = seeded
    bounds = {sid: (s.min, s.max) for sid, s in Service.objects.in_bulk(list(ids.values())).items()}
    seen: Counter[str] = Counter()

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
    )
    @given(
        balance=st.sampled_from(BALANCES),
        calls=st.lists(st.tuples(add_params(ids), st.sampled_from(["form", "json"])), min_size=1, max_size=3),
    )
    def run(balance: Decimal, calls: list[tuple[dict[str, Any], str]]) -> None:
        with transaction.atomic():
            user.refresh_from_db()
            if balance != user.balance:
                credit(user, balance - user.balance, memo="property test")
            for params, transport in calls:
                before = Ledger(user)
                body = send(api, dialect, transport, {"key": key, "action": "add", **params})
                outcome = check_shape(dialect, body, bounds, params.get("service"))
                check_effects(user, outcome, body, before)
                seen[outcome] += 1
            transaction.set_rollback(True)  # the next example starts from the seeded state

    run()
    # The strategies reach every outcome (a check of the test, not of the panel).
    assert seen["order"] and seen["no_funds"] and seen["error"], seen
