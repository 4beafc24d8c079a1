"""Real reseller-API clients from PyPI against the live server, in both dialects.

Each client is driven only through its public methods, as a customer's script
would use it, against `smmpanel serve` (tests/server.py) at `/api/v2` and at
`/api/v1`. What was read in each client's source (the pinned version):

- babismm 1.0.1, imported as `smm`: `SMM(api_url, api_key, session=None,
  timeout=30.0)`. Form POST with requests to `api_url` itself (any URL, so both
  dialects), `raise_for_status()` (non-2xx -> SMMNetworkError), a body that is
  not JSON -> SMMResponseError, a dict with a truthy "error" -> SMMAPIError;
  otherwise returns the decoded JSON unchanged. Methods: get_services,
  get_balance, add_order(service, link, quantity, comments, runs, interval,
  username, min, max, posts, delay, expiry, **kwargs; None values not sent),
  get_status, get_multi_status, create_refill, create_multi_refill,
  get_refill_status, get_multi_refill_status, cancel_orders.
- smmpy 0.1.0: `smm(api_url, api_key)`. Form POST with `requests.post` (no
  timeout) to `api_url` itself, `raise_for_status()`, a dict with a truthy
  "error" -> a bare `Exception(error)`; returns the decoded JSON. Same method
  names as babismm, but `add_order(service, link, quantity, comments=None,
  runs=None, interval=None)` takes no other parameters, so it can place only
  Default (plain or drip-feed), Package and comment orders.
- safesmm 0.1.0: `SafeSMM(api_key, api_url="https://safesmm.net/api/v2",
  timeout=30)`. Form POST with urllib to `api_url` (any URL, so both dialects);
  a non-2xx answer with a body is still parsed; a dict holding an "error" key ->
  SafeSMMError. Methods: balance, services, add_order(service, link,
  quantity=None, **extra), status, multi_status, refill (one order), cancel
  (one id or a list). No refill_status and no multi-order refill.
"""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import smm
import smmpy
from django.utils import timezone
from safesmm import SafeSMM, SafeSMMError
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog import demo
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.money import display
from smmpanel.orders.models import Order, Refill

LINK = "https://instagram.com/p/real-client"
UNKNOWN = 987654321  # no order or refill has this id

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def panel_server_env() -> dict[str, str]:
    return {"SMMPANEL_API_RATE": "0"}  # the clients send bursts of requests on one key


# --- the clients, each behind the same small set of verbs ----------------------


class Babismm:
    name = "babismm"
    error: type[Exception] = smm.SMMAPIError
    extra_params = True  # add_order(**kwargs)

    def __init__(self, url: str, key: str) -> None:
        self.client = smm.SMM(url, key, timeout=10)

    def services(self) -> Any:
        return self.client.get_services()

    def balance(self) -> Any:
        return self.client.get_balance()

    def add(self, service: int, link: str | None = None, quantity: int | None = None, **extra: Any) -> Any:
        return self.client.add_order(service, link=link, quantity=quantity, **extra)

    def status(self, order_id: int) -> Any:
        return self.client.get_status(order_id)

    def multi_status(self, order_ids: list[int]) -> Any:
        return self.client.get_multi_status(order_ids)

    def refill(self, order_id: int) -> Any:
        return self.client.create_refill(order_id)

    def multi_refill(self, order_ids: list[int]) -> Any:
        return self.client.create_multi_refill(order_ids)

    def refill_status(self, refill_id: int) -> Any:
        return self.client.get_refill_status(refill_id)

    def multi_refill_status(self, refill_ids: list[int]) -> Any:
        return self.client.get_multi_refill_status(refill_ids)

    def cancel(self, order_ids: list[int]) -> Any:
        return self.client.cancel_orders(order_ids)


class Smmpy(Babismm):
    name = "smmpy"
    error = Exception  # smmpy raises a bare Exception(message)
    extra_params = False  # add_order(service, link, quantity, comments, runs, interval) only

    def __init__(self, url: str, key: str) -> None:
        self.client = smmpy.smm(url, key)

    def add(self, service: int, link: str | None = None, quantity: int | None = None, **extra: Any) -> Any:
        return self.client.add_order(service, link, quantity, **extra)


class Safesmm:
    name = "safesmm"
    error = SafeSMMError
    extra_params = True  # add_order(**extra)
    # No refill_status, multi_refill or multi_refill_status: the client has none.

    def __init__(self, url: str, key: str) -> None:
        self.client = SafeSMM(key, api_url=url, timeout=10)

    def services(self) -> Any:
        return self.client.services()

    def balance(self) -> Any:
        return self.client.balance()

    def add(self, service: int, link: str | None = None, quantity: int | None = None, **extra: Any) -> Any:
        return self.client.add_order(service, link, quantity=quantity, **extra)

    def status(self, order_id: int) -> Any:
        return self.client.status(order_id)

    def multi_status(self, order_ids: list[int]) -> Any:
        return self.client.multi_status(order_ids)

    def refill(self, order_id: int) -> Any:
        return self.client.refill(order_id)

    def cancel(self, order_ids: list[int] | int) -> Any:
        return self.client.cancel(order_ids)


DRIVERS: list[Any] = [Babismm, Smmpy, Safesmm]
DIALECTS = ["v2", "v1"]


def cases(need: str | None = None) -> list[Any]:
    """(driver, dialect) pairs, only for the clients that have `need` (a verb or a flag)."""
    return [
        pytest.param(driver, dialect, id=f"{driver.name}-{dialect}")
        for driver in DRIVERS
        if need is None or getattr(driver, need, False)
        for dialect in DIALECTS
    ]


# --- the world each test starts from --------------------------------------------


class World:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.types = demo.seed()  # service id by v2 type name
        self.user = User.objects.get(username=demo.DEMO_CUSTOMER)
        self.key = demo.fresh_key()
        # Six decimals, so both dialects' rounding of the balance shows.
        credit(self.user, Decimal("0.123456"), memo="test")

    def client(self, driver: Any, dialect: str) -> Any:
        return driver(f"{self.base_url}/api/{dialect}", self.key)

    def raw(self, dialect: str, **params: Any) -> Any:
        """The panel's answer to the same request, without any client in between."""
        response = httpx.post(f"{self.base_url}/api/{dialect}", data={"key": self.key, **params})
        assert response.status_code == 200
        return response.json()

    def balance(self) -> Decimal:
        self.user.refresh_from_db()
        return self.user.balance

    def orders(self) -> list[Order]:
        return list(Order.objects.filter(user=self.user).order_by("id"))


@pytest.fixture
def world(panel_server: str) -> World:  # noqa: F811
    return World(panel_server)


def added(dialect: str, order_id: int) -> dict[str, Any]:
    return {"order": order_id} if dialect == "v2" else {"status": "success", "order": order_id}


def order_status(dialect: str, order: Order, **more: Any) -> dict[str, Any]:
    """The single-order `status` answer of docs/api.md for a fresh (pending) order."""
    if dialect == "v2":
        body = {
            "charge": display(order.charge, 5),
            "start_count": "0",
            "status": "Pending",
            "remains": str(order.remains),
            "currency": "USD",
        }
    else:
        body = {
            "order": str(order.pk),
            "status": "Pending",
            "charge": display(order.charge, 4),
            "start_count": "0",
            "remains": str(order.remains),
        }
    return body | more


def bad_order_in_batch(dialect: str) -> Any:
    return {"error": "Incorrect order ID"} if dialect == "v2" else "Incorrect order ID"


# --- services and balance ---------------------------------------------------------


@pytest.mark.parametrize("driver, dialect", cases())
def test_services(world, driver, dialect):
    services = world.client(driver, dialect).services()
    assert services == world.raw(dialect, action="services")
    assert len(services) == len(demo.CATALOGUE)
    by_id = {int(s["service"]): s for s in services}
    assert set(by_id) == set(world.types.values())
    default = by_id[world.types["Default"]]
    if dialect == "v2":
        assert all(isinstance(s["service"], int) for s in services)
        assert {s["type"] for s in services} == set(world.types)
        assert default["rate"] == "0.9" and default["dripfeed"] is True and default["refill"] is True
    else:
        assert all(isinstance(s["service"], str) for s in services)
        assert default["type"] == "default" and default["rate"] == "0.9" and default["dripfeed"] == 1


@pytest.mark.parametrize("driver, dialect", cases())
def test_balance(world, driver, dialect):
    assert world.balance() == Decimal("1000.123456")
    answer = world.client(driver, dialect).balance()
    if dialect == "v2":
        assert answer == {"balance": "1000.12346", "currency": "USD"}
    else:
        assert answer == {"status": "success", "balance": "1000.12", "currency": "USD"}


# --- add and status ----------------------------------------------------------------


@pytest.mark.parametrize("driver, dialect", cases())
def test_add_default_dripfeed_and_comments_then_status(world, driver, dialect):
    client = world.client(driver, dialect)

    answer = client.add(world.types["Default"], LINK, 100)
    [plain] = world.orders()
    assert answer == added(dialect, plain.pk)
    assert (plain.kind, plain.link, plain.quantity, plain.charge) == ("single", LINK, 100, Decimal("0.09"))
    assert plain.status == Order.Status.PENDING and plain.service_id == world.types["Default"]

    # Drip-feed: runs and interval are parameters every one of these clients has.
    answer = client.add(world.types["Default"], "instagram.com/p/drip", 100, runs=3, interval=15)
    drip = world.orders()[-1]
    assert answer == added(dialect, drip.pk)
    assert (drip.kind, drip.link, drip.runs, drip.interval_minutes) == (
        "dripfeed",
        "https://instagram.com/p/drip",
        3,
        15,
    )
    assert drip.charge == Decimal("0.27")  # 0.90 x 100 x 3 runs / 1000

    # Custom comments: no quantity (a None is not sent); one unit per comment line.
    comments = "great\r\n\r\n  nice one  \nwow\nyes\r\nok\n"
    answer = client.add(world.types["Custom Comments"], LINK, comments=comments)
    commented = world.orders()[-1]
    assert answer == added(dialect, commented.pk)
    assert commented.quantity == 5 and commented.params == {"comments": "great\nnice one\nwow\nyes\nok"}
    assert commented.charge == Decimal("0.06")  # 12.00 x 5 / 1000

    assert world.balance() == Decimal("1000.123456") - Decimal("0.09") - Decimal("0.27") - Decimal("0.06")

    assert client.status(plain.pk) == order_status(dialect, plain)
    assert client.status(drip.pk) == order_status(dialect, drip, runs="0", orders=[])
    assert client.status(commented.pk) == world.raw(dialect, action="status", order=commented.pk)

    many = client.multi_status([plain.pk, commented.pk, UNKNOWN])
    assert many == {
        str(plain.pk): order_status(dialect, plain),
        str(commented.pk): order_status(dialect, commented),
        str(UNKNOWN): bad_order_in_batch(dialect),
    }


@pytest.mark.parametrize("driver, dialect", cases("extra_params"))
def test_add_with_type_specific_parameters(world, driver, dialect):
    """Clients that pass extra keyword arguments through can place every order type."""
    client = world.client(driver, dialect)

    answer = client.add(
        world.types["Mentions with Hashtags"],
        LINK,
        200,
        usernames="ann\nbob",
        hashtags="#sun\r\n#sea",
    )
    mentions = world.orders()[-1]
    assert answer == added(dialect, mentions.pk)
    assert mentions.params == {"usernames": "ann\nbob", "hashtags": "#sun\n#sea"}
    assert mentions.charge == Decimal("0.48")

    answer = client.add(world.types["Poll"], LINK, 150, answer_number=2)
    poll = world.orders()[-1]
    assert answer == added(dialect, poll.pk) and poll.params == {"answer_number": "2"}

    # Subscriptions take no link and no quantity: the clients leave None out.
    expiry = (timezone.localdate() + timedelta(days=30)).strftime("%d/%m/%Y")
    answer = client.add(
        world.types["Subscriptions"], username="someone", min=50, max=100, posts=5, delay=30, expiry=expiry
    )
    sub = world.orders()[-1]
    assert answer == added(dialect, sub.pk)
    assert sub.kind == "subscription" and sub.status == Order.Status.ACTIVE and sub.charge == 0
    assert sub.params["username"] == "someone" and sub.params["posts"] == 5 and sub.params["delay"] == 30

    expected = {"status": "Active", "expiry": expiry, "posts": "0", "orders": []}
    if dialect == "v2":
        expected |= {"charge": "0.00000", "currency": "USD"}
    assert client.status(sub.pk) == expected
    assert client.status(poll.pk) == order_status(dialect, poll)


# --- refill, refill status, cancel -------------------------------------------------


def completed(world: World, link: str) -> Order:
    """A Default order (refill on) placed through the API, then marked Completed."""
    answer = world.raw("v2", action="add", service=world.types["Default"], link=link, quantity=100)
    Order.objects.filter(pk=answer["order"]).update(status="completed", finished_at=timezone.now())
    return Order.objects.get(pk=answer["order"])


@pytest.mark.parametrize("driver, dialect", cases())
def test_refill_one_order(world, driver, dialect):
    client = world.client(driver, dialect)
    done = completed(world, "x.com/done")

    answer = client.refill(done.pk)
    refill = Refill.objects.get(order=done)
    assert answer == {"refill": str(refill.pk)}
    assert refill.status == Refill.Status.PENDING

    # The same order again: one refill is still open, an error answer the client raises.
    with pytest.raises(driver.error, match="^Refill is not available for this order$") as caught:
        client.refill(done.pk)
    assert caught.type is driver.error
    assert Refill.objects.filter(order=done).count() == 1

    if hasattr(driver, "refill_status"):
        assert client.refill_status(refill.pk) == {"status": "Pending"}
        Refill.objects.filter(pk=refill.pk).update(status="completed")
        assert client.refill_status(refill.pk) == {"status": "Completed"}


@pytest.mark.parametrize("driver, dialect", cases("multi_refill"))
def test_refill_many_orders_and_their_statuses(world, driver, dialect):
    client = world.client(driver, dialect)
    done = completed(world, "x.com/done")
    running = completed(world, "x.com/running")
    Order.objects.filter(pk=running.pk).update(status="in_progress", finished_at=None)

    answer = client.multi_refill([done.pk, running.pk, UNKNOWN])
    refill = Refill.objects.get()
    assert refill.order_id == done.pk
    assert answer == [
        {"order": done.pk, "refill": refill.pk},
        {"order": running.pk, "refill": {"error": "Refill is not available for this order"}},
        {"order": UNKNOWN, "refill": {"error": "Incorrect order ID"}},
    ]

    assert client.multi_refill_status([refill.pk, UNKNOWN]) == [
        {"refill": refill.pk, "status": "Pending"},
        {"refill": UNKNOWN, "status": {"error": "Refill not found"}},
    ]


@pytest.mark.parametrize("driver, dialect", cases())
def test_cancel(world, driver, dialect):
    client = world.client(driver, dialect)
    pending = client.add(world.types["Default"], LINK, 100)["order"]
    package = client.add(world.types["Package"], LINK)["order"]  # the demo package has cancel off

    answer = client.cancel([pending, package, UNKNOWN])
    assert answer == [
        {"order": pending, "cancel": 1},
        {"order": package, "cancel": {"error": "Cancel is not available for this order"}},
        {"order": UNKNOWN, "cancel": {"error": "Incorrect order ID"}},
    ]
    order = Order.objects.get(pk=pending)
    # Accepted, not yet carried out: no refund before the order really ends.
    assert order.cancel_requested_at is not None and order.status == Order.Status.PENDING
    assert world.balance() == Decimal("1000.123456") - Decimal("0.09") - Decimal("4.5")

    if driver is Safesmm:  # its cancel() also takes one id
        assert client.cancel(pending) == [{"order": pending, "cancel": 1}]


# --- error answers -------------------------------------------------------------------

ERRORS = {
    "v2": ("Incorrect service ID", "Not enough funds on balance", "Invalid API key"),
    "v1": (
        "Service ID does not exists",
        "Not enough funds on balance",
        "API is Disable for this user or User Not Found! Contact the Support",
    ),
}


@pytest.mark.parametrize("driver, dialect", cases())
def test_error_answers_raise_the_clients_error_with_our_text(world, driver, dialect):
    client = world.client(driver, dialect)
    bad_service, no_funds, bad_key = ERRORS[dialect]

    with pytest.raises(driver.error, match=f"^{bad_service}$") as caught:
        client.add(UNKNOWN, LINK, 100)
    assert caught.type is driver.error

    with pytest.raises(driver.error, match=f"^{no_funds}$"):
        client.add(world.types["Default"], LINK, 10000, runs=10_000, interval=1)

    with pytest.raises(driver.error, match=f"^{bad_key}$"):
        driver(f"{world.base_url}/api/{dialect}", "not-a-key").balance()

    assert world.orders() == []
    assert world.balance() == Decimal("1000.123456")
