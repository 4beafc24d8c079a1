"""The API documentation's example answers (web/apidocs.py, written out as data because the website
imports nothing from the API) are exactly what each dialect of api/dialects.py sends for the same
order, service, refill or balance, key order included: a change to a dialect fails here until the
documentation says the same."""

import json
from decimal import Decimal
from typing import Any

import pytest

from smmpanel.api.dialects import DIALECTS, Dialect, OrderView, SubscriptionView
from smmpanel.catalog.offers import Offer
from smmpanel.catalog.types import ServiceType
from smmpanel.orders.drafting import ORDER_TYPES, SUBSCRIPTION_DELAYS
from smmpanel.web import apidocs

# What the documented answers describe, given to the dialects themselves.
PARTIAL = OrderView(23501, "Partial", Decimal("0.27819"), 3572, 157)
DRIP_FEED = OrderView(23510, "In progress", Decimal("1.8"), 0, 1500, runs=[23511])
SUBSCRIPTION = SubscriptionView(23520, "Active", "31/12/2027", [23521, 23533], Decimal("0.18"))
SERVICE = Offer(
    1,
    "Instagram Followers [Refill 30 days]",
    "default",
    0,
    "Instagram Followers",
    Decimal("0.9"),
    50,
    10000,
    dripfeed=True,
    refill=True,
    cancel=True,
    description="Real-looking profiles.",
)


def dialect_answers(dialect: Dialect, currency: str) -> dict[str, list[Any]]:
    """Each action's example answers (by the page's anchor), as the dialect produces them."""
    return {
        "services": [[dialect.service(SERVICE)]],
        "add": [dialect.added(23501)],
        "status": [
            dialect.order(PARTIAL, currency),
            dialect.order(DRIP_FEED, currency),
            dialect.subscription(SUBSCRIPTION, currency),
        ],
        "multi-status": [{"23501": dialect.order(PARTIAL, currency), "1": dialect.bad_order_in_batch()}],
        "refill": [
            dialect.refill(17),
            [dialect.refill_item("23501", 17, ""), dialect.refill_item("23502", None, "no_refill")],
        ],
        "refill-status": [
            dialect.refill_status("Completed"),
            [dialect.refill_status_item("17", "Completed"), dialect.refill_status_item("18", None)],
        ],
        "cancel": [[dialect.cancel_item("23501", None), dialect.cancel_item("9", "bad_order")]],
        "balance": [dialect.balance(Decimal("100.84292"), currency)],
    }


def documented(name: str, currency: str) -> dict[str, list[Any]]:
    return {
        action.anchor: [apidocs.answer(getattr(example, name), currency) for example in action.examples]
        for action in apidocs.ACTIONS
    }


def as_sent(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # keeps the keys' order: clients see it


@pytest.mark.parametrize("currency", ["USD", "EUR"])
@pytest.mark.parametrize("name", ["v2", "v1"])
def test_every_documented_answer_is_what_the_dialect_sends(name: str, currency: str) -> None:
    expected = dialect_answers(DIALECTS[name], currency)
    shown = documented(name, currency)
    assert list(shown) == list(expected), "an action documented, or not, without its answers here"
    for anchor, answers in expected.items():
        assert [as_sent(a) for a in shown[anchor]] == [as_sent(a) for a in answers], anchor


@pytest.mark.parametrize("name", ["v2", "v1"])
def test_the_answer_to_add_shown_for_every_type_is_the_dialects(name: str) -> None:
    assert as_sent(apidocs.ADDED[name]) == as_sent(DIALECTS[name].added(23501))


def test_every_type_drafting_knows_is_documented_in_its_order() -> None:
    assert [doc.type for doc in apidocs.type_docs()] == [ServiceType(code) for code in ORDER_TYPES]
    assert set(ORDER_TYPES) == set(ServiceType.values)


def test_the_documented_delays_are_drafting_s_own() -> None:
    (delay,) = [p for doc in apidocs.type_docs() for p in doc.params if p.name == "delay"]
    listed = str(delay.text).removeprefix("Minutes to wait after a post appears: ").rstrip(".")
    assert sorted(int(n) for n in listed.replace(" or ", ", ").split(", ")) == sorted(SUBSCRIPTION_DELAYS)
