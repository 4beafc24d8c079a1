"""The upstream API client against a fake upstream panel over real HTTP, with a 0.5 s total timeout."""

import socket
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from upstream import FakeUpstream, upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.catalog.types import ServiceType
from smmpanel.orders.models import Order, Refill
from smmpanel.providers import answers
from smmpanel.providers.client import (
    CallRecord,
    ProviderClient,
    Refused,
    Unreachable,
    UpstreamStatus,
)
from smmpanel.providers.models import UpstreamCall

TIMEOUT = 0.5
ORDER = {"service": "1", "link": "https://instagram.com/alice", "quantity": "100"}


class Client:
    """A client under test and the call records it made."""

    def __init__(self, url: str, key: str, timeout: float) -> None:
        self.records: list[CallRecord] = []
        self.key = key
        self.api = ProviderClient(url, key, timeout=timeout, recorder=self.records.append)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)

    @property
    def record(self) -> CallRecord:
        return self.records[-1]


@pytest.fixture
def make_client(upstream: FakeUpstream) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(url: str | None = None, key: str | None = None, timeout: float = TIMEOUT) -> Client:
        made.append(Client(url or upstream.url, key or upstream.key, timeout))
        return made[-1]

    yield make
    for client in made:
        client.api.close()


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client()


def assert_no_key(client: Client) -> None:
    for record in client.records:
        assert client.key not in repr(record.request) + record.response + record.error


# Every action, answered normally ---------------------------------------------------


def test_services_are_read_with_our_types_and_decimal_rates(client):
    services = {s.external_id: s for s in client.services()}
    assert services["1"].type == ServiceType.DEFAULT and services["1"].rate == Decimal("0.90")
    assert (services["1"].min, services["1"].max) == (50, 10000)
    assert services["1"].dripfeed and services["1"].refill and services["1"].cancel
    assert services["2"].type == ServiceType.CUSTOM_COMMENTS and not services["2"].refill
    assert services["3"].type == ServiceType.PACKAGE and services["3"].category == "Packs"
    assert client.record.outcome == "ok" and client.record.request == {}


def test_balance_is_a_decimal_and_a_currency(client):
    assert client.balance() == (Decimal("1000.00000"), "USD")


def test_add_places_one_order_and_answers_its_id(client, upstream):
    order_id = client.add(ORDER)
    assert order_id == upstream.placed[0].id and len(upstream.placed) == 1
    assert upstream.calls == [("add", ORDER)]
    assert client.record.request == ORDER and client.record.action == "add"
    assert_no_key(client)


def test_add_sends_the_idempotency_key_a_careful_provider_honours(client, upstream):
    upstream.honours_idempotency = True
    first = client.add(ORDER, idempotency_key="order-17")
    assert client.add(ORDER, idempotency_key="order-17") == first
    assert len(upstream.placed) == 1 and upstream.placed_per_key["order-17"] == 1
    assert client.record.request["Idempotency-Key"] == "order-17"


def test_a_provider_that_ignores_the_idempotency_key_places_twice(client, upstream):
    client.add(ORDER, idempotency_key="order-17")
    client.add(ORDER, idempotency_key="order-17")
    assert upstream.placed_per_key["order-17"] == 2


def test_status_of_one_order(client, upstream):
    order_id = client.add(ORDER)
    upstream.set_status(order_id, "In progress", remains=40, start_count=3572)
    status = client.status(order_id)
    assert (status.status, status.remains, status.start_count) == ("in_progress", 40, 3572)
    assert (status.charge, status.currency, status.error) == (Decimal("0.09"), "USD", None)


def test_statuses_of_many_orders_with_an_unknown_one(client, upstream):
    first, second = client.add(ORDER), client.add(ORDER)
    upstream.set_status(second, "Completed", remains=0)
    statuses = client.statuses([first, second, "999"])
    assert statuses[first].status == "pending" and statuses[second].status == "completed"
    assert statuses["999"] == UpstreamStatus(status=None, error="Incorrect order ID", raw=statuses["999"].raw)
    assert upstream.calls[-1] == ("status", {"orders": f"{first},{second},999"})


@pytest.mark.parametrize("count", [0, 101])
def test_many_ids_calls_take_1_to_100_ids(client, upstream, count):
    ids = [str(i) for i in range(count)]
    for method in (client.statuses, client.refills, client.refill_statuses, client.cancel):
        with pytest.raises(ValueError, match="1 to 100 ids"):
            method(ids)
    assert upstream.calls == [] and client.records == []


def test_refill_and_its_status(client, upstream):
    order_id = client.add(ORDER)
    refill_id = client.refill(order_id)
    assert client.refill_status(refill_id) == Refill.Status.PENDING
    upstream.set_refill_status(refill_id, "In progress")
    assert client.refill_status(refill_id) == Refill.Status.IN_PROGRESS
    with pytest.raises(Refused, match="Refill not found"):
        client.refill_status("12345")


def test_refills_and_their_statuses_in_batches(client, upstream):
    order_id = client.add(ORDER)
    refills = client.refills([order_id, "999"])
    assert refills["999"] == Refused("Incorrect order ID") and isinstance(refills[order_id], str)
    upstream.set_refill_status(refills[order_id], "Completed")
    statuses = client.refill_statuses([refills[order_id], "777"])
    assert statuses == {refills[order_id]: "completed", "777": Refused("Refill not found")}


def test_cancel_accepts_or_refuses_each_order(client, upstream):
    running, done = client.add(ORDER), client.add(ORDER)
    upstream.set_status(done, "Completed", remains=0)
    assert client.cancel([running, done, "999"]) == {
        running: None,
        done: Refused("Cancel is not available for this order"),
        "999": Refused("Incorrect order ID"),
    }
    assert upstream.orders[running].cancel_requested


def test_call_answers_any_action_as_json(client):
    assert client.call("balance") == {"balance": "1000.00000", "currency": "USD"}
    assert client.record.action == "balance"


def test_a_wrong_key_is_refused(make_client):
    client = make_client(key="not-the-upstream-key")
    with pytest.raises(Refused, match="Invalid API key"):
        client.balance()
    assert client.record.outcome == "error" and client.record.error == "Invalid API key"


# Other panels' answers, read liberally ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Pending", "pending"),
        ("pending", "pending"),
        ("In progress", "in_progress"),
        ("inprogress", "in_progress"),
        ("in_progress", "in_progress"),
        ("IN PROGRESS", "in_progress"),
        ("Processing", "processing"),
        ("COMPLETED", "completed"),
        ("Partial", "partial"),
        ("Canceled", "canceled"),
        ("Cancelled", "canceled"),
        ("cancel", "canceled"),
        ("Active", "active"),
        ("Paused", "paused"),
        ("Expired", "expired"),
        ("Refunded", None),
        ("", None),
    ],
)
def test_order_statuses_in_any_spelling(client, upstream, text, expected):
    upstream.answer_with("status", {"status": text, "charge": "1", "remains": "0"})
    status = client.status("5")
    assert (status.status, status.status_text) == (expected, text)


@pytest.mark.parametrize(
    ("answer", "charge", "start_count", "remains"),
    [
        ({"charge": "0.27819", "start_count": "3572", "remains": "157"}, Decimal("0.27819"), 3572, 157),
        ({"charge": 0.27819, "start_count": 3572, "remains": 157}, Decimal("0.27819"), 3572, 157),
        ({"charge": 2, "start_count": "3572.0", "remains": 157.0}, Decimal(2), 3572, 157),
        ({"charge": " 0.5 ", "start_count": " 7 ", "remains": "-5"}, Decimal("0.5"), 7, 0),
        ({"charge": "", "start_count": "abc", "remains": "1.5"}, None, None, None),
        ({"charge": "NaN", "start_count": None, "remains": True}, None, None, None),
        ({}, None, None, None),
    ],
)
def test_numbers_as_strings_or_numbers_and_garbage_as_none(
    client, upstream, answer, charge, start_count, remains
):
    upstream.answer_with("status", {"status": "Partial", **answer})
    status = client.status("5")
    assert (status.charge, status.start_count, status.remains) == (charge, start_count, remains)


def test_v1_answers(client, upstream):
    upstream.answer_with("add", {"status": "success", "order": 32})
    assert client.add(ORDER) == "32"
    upstream.answer_with("balance", {"status": "success", "balance": "0.03", "currency": "USD"})
    assert client.balance() == (Decimal("0.03"), "USD")
    upstream.answer_with(
        "status", {"order": "32", "status": "pending", "charge": "0.0360", "start_count": "0", "remains": "0"}
    )
    assert client.status("32").status == "pending"
    upstream.answer_with("status", {"12": {"order": "12", "status": "processing"}, "2": "Incorrect order ID"})
    statuses = client.statuses(["12", "2"])
    assert statuses["12"].status == "processing" and statuses["2"].error == "Incorrect order ID"


def test_v1_services_with_snake_case_types_and_flags_as_strings(client, upstream):
    item = {"service": "5", "name": "Likes", "category": "IG", "rate": "1.02", "min": "500", "max": "10000"}
    upstream.answer_with(
        "services",
        [
            {**item, "type": "default", "desc": "Fast", "dripfeed": 1},
            {**item, "service": "6", "type": "mentions_with_hashtags", "dripfeed": "0", "refill": "1"},
            {**item, "service": "7", "type": "Mentions with Hashtags", "cancel": "true", "refill": 0},
            {**item, "service": "8", "type": "Something New"},
            {**item, "service": "9", "rate": "free"},  # unreadable: left out
            "not a service",
        ],
    )
    services = {s.external_id: s for s in client.services()}
    assert sorted(services) == ["5", "6", "7", "8"]
    assert services["5"].dripfeed and services["5"].description == "Fast" and services["5"].min == 500
    assert (
        services["6"].type == "mentions_with_hashtags" and services["6"].refill and not services["6"].dripfeed
    )
    assert (
        services["7"].type == "mentions_with_hashtags" and services["7"].cancel and not services["7"].refill
    )
    assert services["8"].type == "default" and services["8"].raw["type"] == "Something New"


def test_a_provider_answering_one_id_with_the_single_order_shape(client, upstream):
    upstream.answer_with("status", {"status": "Completed", "remains": "0"})
    assert client.statuses(["7"])["7"].status == "completed"


def test_ids_the_answer_leaves_out_are_absent(client, upstream):
    upstream.answer_with("status", {"1": {"status": "Pending"}, "99": {"status": "Pending"}})
    assert list(client.statuses(["1", "2"])) == ["1"]


def test_per_item_errors_in_a_batch(client, upstream):
    ids = [client.add(ORDER) for _ in range(4)]
    upstream.fault("status", "per_item_errors")
    statuses = client.statuses(ids)
    assert [statuses[i].error for i in ids] == [None, "Incorrect order ID", None, "Incorrect order ID"]
    assert statuses[ids[0]].status == "pending" and statuses[ids[1]].status is None
    assert client.record.outcome == "ok"


def test_a_top_level_error_is_a_refusal(client, upstream):
    upstream.answer_with("status", {"error": "Incorrect order ID"})
    with pytest.raises(Refused) as caught:
        client.status("5")
    assert caught.value.message == "Incorrect order ID" and caught.value.outcome == "error"


def test_refill_and_cancel_answers_from_other_panels(client, upstream):
    upstream.answer_with("refill", {"refill": 71})
    assert client.refill("5") == "71"
    upstream.answer_with("refill", {"refill": {"error": "Refill is not available for this order"}})
    with pytest.raises(Refused, match="not available"):
        client.refill("5")
    upstream.answer_with("refill_status", {"status": "CANCELLED"})
    assert client.refill_status("71") == "canceled"
    upstream.answer_with(
        "cancel", [{"order": "1", "cancel": "1"}, {"order": 2, "cancel": True}, {"order": 3, "cancel": 0}]
    )
    answer = client.cancel(["1", "2", "3"])
    assert answer == {"1": None, "2": None, "3": Refused("the provider did not accept the cancel")}


@pytest.mark.parametrize(
    ("action", "answer"),
    [
        ("add", {"status": "success"}),
        ("add", []),
        ("balance", {"balance": "lots"}),
        ("services", '"ok"'),
        ("status", [1, 2]),
        ("status", {"order": "5"}),
        ("refill_status", {"status": "Teleported"}),
        ("cancel", {"cancel": 1}),
    ],
)
def test_an_answer_of_the_wrong_shape_is_in_doubt(client, upstream, action, answer):
    upstream.answer_with(action, answer)
    method = {
        "add": lambda: client.add(ORDER),
        "balance": client.balance,
        "services": client.services,
        "status": lambda: client.status("5"),
        "refill_status": lambda: client.refill_status("5"),
        "cancel": lambda: client.cancel(["5"]),
    }[action]
    with pytest.raises(Unreachable) as caught:
        method()
    assert caught.value.outcome == client.record.outcome == "bad_answer"
    assert "unexpected answer" in caught.value.message


# Faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "outcome", "message", "placed"),
    [
        ("timeout", "timeout", "no complete answer within 0.5 s", 1),
        ("drop_after_accept", "connection", "connection dropped before a complete answer", 1),
        ("trickle", "timeout", "no complete answer within 0.5 s", 1),
        ("http_500", "http_error", "provider answered HTTP 500", 0),
        ("http_502_html", "http_error", "provider answered HTTP 502: '502 Bad Gateway'", 0),
        ("html", "bad_answer", "provider answered HTML, not JSON: 'Maintenance'", 0),
        ("invalid_json", "bad_answer", "invalid JSON: '{\"order\": 12'", 0),
        ("empty", "bad_answer", "empty answer", 0),
    ],
)
def test_an_add_whose_outcome_is_in_doubt(client, upstream, kind, outcome, message, placed):
    upstream.fault("add", kind)
    with pytest.raises(Unreachable) as caught:
        client.add(ORDER)
    error = caught.value
    assert (error.outcome, error.maybe_sent) == (outcome, True) and error.message.startswith(message)
    assert len(upstream.placed) == placed  # a timeout or a drop may hide a placed order
    record = client.record
    assert (record.action, record.outcome, record.error, record.request) == (
        "add",
        outcome,
        error.message,
        ORDER,
    )
    assert_no_key(client)


def test_not_enough_funds_is_a_clear_refusal(client, upstream):
    upstream.fault("add", "not_enough_funds")
    with pytest.raises(Refused, match="Not enough funds on balance"):
        client.add(ORDER)
    assert upstream.placed == []
    assert (client.record.outcome, client.record.http_status) == ("error", 200)
    assert client.record.response == '{"error": "Not enough funds on balance"}'


def test_a_slow_answer_within_the_timeout_is_fine(client, upstream):
    upstream.fault("balance", "slow", delay=0.2)
    client.balance()
    assert client.record.outcome == "ok" and 200 <= client.record.latency_ms < 500


def test_http_429_is_in_doubt_not_a_refusal(client, upstream):
    upstream.answer_with("add", {"error": "Too many requests"}, status=429)
    with pytest.raises(Unreachable, match="provider answered HTTP 429: Too many requests"):
        client.add(ORDER)
    assert (client.record.outcome, client.record.http_status) == ("http_error", 429)


@pytest.mark.parametrize("delay", [0.05, 0.45])
def test_the_timeout_bounds_the_whole_call_even_when_the_answer_trickles(client, upstream, delay):
    """0.05: the body comes a byte every 0.05 s, no single read times out.
    0.45: the headers come at 0.45 s, then the body stalls: each phase alone is under the timeout."""
    upstream.fault("balance", "trickle", delay=delay)
    started = time.monotonic()
    with pytest.raises(Unreachable, match="no complete answer within 0.5 s"):
        client.balance()
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 0.25
    assert client.record.outcome == "timeout" and client.record.http_status == 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_closed_port_sent_nothing(make_client):
    client = make_client(url=f"http://127.0.0.1:{free_port()}/api/v2")
    with pytest.raises(Unreachable, match="could not connect") as caught:
        client.add(ORDER)
    assert (caught.value.outcome, caught.value.maybe_sent) == ("connection", False)
    assert client.record.outcome == "connection" and client.record.http_status is None


def test_a_bad_url_sent_nothing(make_client):
    client = make_client(url="ftp://panel.example/api/v2")
    with pytest.raises(Unreachable, match="bad provider URL") as caught:
        client.balance()
    assert not caught.value.maybe_sent


def test_the_recorded_answer_is_cut_at_10000_characters(client, upstream):
    upstream.answer_with("services", [{"service": i, "name": "x" * 100} for i in range(200)])
    assert client.services() == []
    assert len(client.record.response) == 10_000


def test_the_key_is_never_recorded_even_when_echoed(client, upstream):
    upstream.answer_with("balance", {"error": f"key {upstream.key} is disabled"})
    with pytest.raises(Refused):
        client.call("balance", {"key": upstream.key, "note": f"mine is {upstream.key}"})
    assert "key" not in client.record.request and client.record.request["note"] == "mine is [key]"
    assert client.record.error == "key [key] is disabled"
    assert_no_key(client)


def test_a_failing_recorder_does_not_lose_the_answer(upstream, caplog):
    def broken(record: CallRecord) -> None:
        raise RuntimeError("database is down")

    with ProviderClient(upstream.url, upstream.key, timeout=TIMEOUT, recorder=broken) as client:
        assert client.add(ORDER) == upstream.placed[0].id
    assert "could not record a add call" in caplog.text


def test_the_client_speaks_our_models_codes():
    assert {answers.OK, answers.ERROR, answers.TIMEOUT, answers.CONNECTION} | {
        answers.HTTP_ERROR,
        answers.BAD_ANSWER,
    } == set(UpstreamCall.Outcome.values)
    assert set(answers.ORDER_STATUSES.values()) == set(Order.Status.values)
    assert set(answers.REFILL_STATUSES.values()) == set(Refill.Status.values)
