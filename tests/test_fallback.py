"""A service's fallback provider, and a disabled provider, over real HTTP with two fake upstreams.

docs/operator.md, "Fallback provider and disabled providers": an order the service's provider
refuses goes to the service's fallback (each provider gets at most one add for it); one in doubt
is never rerouted; a disabled provider's new orders go to the fallback, or, without a usable one,
are refused when placed; the orders it has go on to their end.
"""

import uuid
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from staff import make_staff, signed_in
from upstream import FakeUpstream, upstream_fixture  # noqa: F401  (the `upstream` fixture: the first)

from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.engine.worker import Worker
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders import listing, operator, queues
from smmpanel.orders.models import Order, OrderEvent

P, S = Order.ProviderState, Order.Status
E = OrderEvent.Kind
BACKUP_ID = "7"  # the fallback's own id for the service, unlike the first provider's "1"
NOT_TAKING = "This service is not taking orders right now."


@pytest.fixture
def second() -> Iterator[FakeUpstream]:
    """The fallback's panel: it sells the service as #7 at 0.60 EUR per 1000."""
    with FakeUpstream() as server:
        server.services[0] |= {"service": int(BACKUP_ID), "rate": "0.60"}
        yield server


@pytest.fixture
def primary(upstream: FakeUpstream) -> Provider:
    return Provider.objects.create(
        name="Primary", url=upstream.url, api_key=upstream.key, timeout_seconds=0.5, requests_per_second=1000
    )


@pytest.fixture
def backup(second: FakeUpstream) -> Provider:
    """A provider in euros, each worth 1.10 of the panel's dollars."""
    return Provider.objects.create(
        name="Backup",
        url=second.url,
        api_key=second.key,
        timeout_seconds=0.5,
        requests_per_second=1000,
        currency="EUR",
        exchange_rate=Decimal("1.10"),
        exchange_rate_set_at=timezone.now(),
    )


def listed(provider: Provider, external_id: str, rate: str) -> ProviderService:
    return ProviderService.objects.create(
        provider=provider,
        external_id=external_id,
        name="Followers",
        type="default",
        rate=Decimal(rate),
        min=50,
        max=10_000,
    )


@pytest.fixture
def service(catalogue, primary: Provider, backup: Provider) -> Service:
    """Followers sold at 0.90, bought from Primary (#1 at 0.50), else from Backup (#7 at 0.60 EUR)."""
    Service.objects.filter(pk=catalogue.default.pk).update(
        name="Followers, sent on",
        provider=primary,
        provider_service=listed(primary, "1", "0.50"),
        fallback_service=listed(backup, BACKUP_ID, "0.60"),
    )
    return Service.objects.get(pk=catalogue.default.pk)


@pytest.fixture
def worker(clock, service: Service) -> Worker:
    return Worker(clock=clock, threads=4)


def place(api, alice, service: Service, link: str = "x.com/a") -> Order:
    answer = api.post("v2", key=alice.key, action="add", service=service.pk, link=link, quantity=1000)
    return Order.objects.get(pk=answer["order"])


def adds(upstream: FakeUpstream) -> list[dict[str, str]]:
    return [params for action, params in upstream.calls if action == "add"]


def rounds(worker: Worker, clock, n: int = 4, minutes: float = 5) -> None:
    for _ in range(n):
        worker.run_once()
        clock.advance(minutes=minutes)


def refunded(order: Order) -> Decimal:
    return sum((e.amount for e in LedgerEntry.objects.filter(order=order, kind="refund")), Decimal(0))


def history(order: Order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))


# --- A refusal: the fallback takes the order ------------------------------------------


def test_an_order_the_first_provider_refuses_goes_to_the_fallback_once(
    api, alice, service, worker, clock, upstream, second, backup
):
    upstream.fault("add", "not_enough_funds")
    order = place(api, alice, service)
    rounds(worker, clock)
    order.refresh_from_db()
    assert (order.provider_state, order.status) == (P.SENT, S.PENDING)
    assert order.provider_id == backup.pk and order.provider_order_id == second.placed[0].id
    assert order.cost == Decimal("0.66")  # 0.60 EUR for 1000, at 1.10
    assert len(adds(upstream)) == 1 and len(adds(second)) == 1
    assert adds(second)[0]["service"] == BACKUP_ID and adds(second)[0]["quantity"] == "1000"
    assert history(order) == [E.CREATED, E.REFUSED, E.PROVIDER_CHANGED, E.SENT]
    changed = OrderEvent.objects.get(order=order, kind=E.PROVIDER_CHANGED).data
    assert changed["new"] == f"Backup (#{backup.pk})" and "Not enough funds" in changed["reason"]
    assert alice.balance() == Decimal("99.1") and refunded(order) == 0  # charged once, kept


def test_the_fallback_refusing_too_cancels_and_refunds_exactly(
    api, alice, service, worker, clock, upstream, second
):
    upstream.fault("add", "not_enough_funds")
    second.fault("add", "not_enough_funds")
    order = place(api, alice, service)
    rounds(worker, clock)
    order.refresh_from_db()
    assert (order.provider_state, order.status) == (P.FAILED, S.CANCELED)
    assert refunded(order) == order.charge == Decimal("0.9") and alice.balance() == Decimal(100)
    assert len(adds(upstream)) == 1 and len(adds(second)) == 1
    assert list(mismatches()) == []


def test_a_retry_after_the_fallback_refused_goes_to_the_fallback_not_back(
    api, alice, service, worker, clock, upstream, second, backup
):
    Service.objects.filter(pk=service.pk).update(on_refusal=Service.OnRefusal.RETRY)
    upstream.fault("add", "not_enough_funds", times=None)
    second.fault("add", "not_enough_funds")
    order = place(api, alice, service)
    rounds(worker, clock, n=2)
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id) == (P.QUEUED, backup.pk)  # retried later, there
    rounds(worker, clock, n=3)  # ten minutes on, the retry: the fallback takes it this time
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id) == (P.SENT, backup.pk)
    assert len(adds(upstream)) == 1 and len(adds(second)) == 2


def test_an_order_is_rerouted_once_even_when_the_operator_sends_it_back_to_the_first(
    api, alice, service, worker, clock, upstream, second, primary, backup
):
    Service.objects.filter(pk=service.pk).update(on_refusal=Service.OnRefusal.HOLD)
    upstream.fault("add", "not_enough_funds", times=None)
    second.fault("add", "not_enough_funds")
    order = place(api, alice, service)
    rounds(worker, clock, n=2)
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id) == (P.FAILED, backup.pk)  # held, after both said no
    operator.change_provider(order.pk, primary.pk, actor=None, now=clock.now)  # the operator's choice
    operator.resend(order.pk, actor=None, now=clock.now)
    rounds(worker, clock, n=2)
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id, order.status) == (P.FAILED, primary.pk, S.PENDING)
    assert len(adds(upstream)) == 2 and len(adds(second)) == 1  # the fallback was not asked twice


@pytest.mark.parametrize("fault", ["timeout", "http_500"])
def test_an_order_in_doubt_at_the_first_provider_is_never_rerouted(
    api, alice, service, worker, clock, upstream, second, primary, fault
):
    upstream.fault("add", fault, delay=1.0)
    order = place(api, alice, service)
    rounds(worker, clock)
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id) == (P.UNKNOWN, primary.pk)
    assert len(adds(upstream)) == 1 and adds(second) == []
    assert refunded(order) == 0


def test_a_busy_link_is_retried_at_the_same_provider(
    api, alice, service, worker, clock, upstream, second, primary
):
    upstream.answer_with(
        "add", {"error": "You have active order with this link. Please wait until order being completed."}
    )
    order = place(api, alice, service)
    worker.run_once()
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id) == (P.QUEUED, primary.pk) and adds(second) == []


# --- A disabled provider --------------------------------------------------------------


def test_a_disabled_providers_new_orders_go_to_the_fallback_only(
    api, alice, client, service, worker, clock, upstream, second, primary, backup
):
    Provider.objects.filter(pk=primary.pk).update(enabled=False)
    assert service.pk in [s["service"] for s in api.post("v2", key=alice.key, action="services")]
    assert service.name in client.get(reverse("services")).content.decode()
    order = place(api, alice, service)
    rounds(worker, clock)
    order.refresh_from_db()
    assert (order.provider_state, order.provider_id) == (P.SENT, backup.pk)
    assert order.provider_order_id == second.placed[0].id and order.cost == Decimal("0.66")
    assert adds(upstream) == [] and len(adds(second)) == 1
    assert adds(second)[0]["service"] == BACKUP_ID


@pytest.mark.parametrize("why", ["no fallback", "fallback's provider disabled", "fallback no longer listed"])
def test_a_disabled_provider_without_a_usable_fallback_takes_no_orders(
    api, alice, client, service, primary, backup, why
):
    Provider.objects.filter(pk=primary.pk).update(enabled=False)
    if why == "no fallback":
        Service.objects.filter(pk=service.pk).update(fallback_service=None)
    elif why == "fallback's provider disabled":
        Provider.objects.filter(pk=backup.pk).update(enabled=False)
    else:
        ProviderService.objects.filter(provider=backup).update(available=False)
    asked = dict(action="add", key=alice.key, service=service.pk, link="x.com/a", quantity=1000)
    assert api.post("v2", **asked) == {"error": "Incorrect service ID"}
    assert api.post("v1", **asked) == {"error": "Service ID does not exists"}
    assert service.pk not in [s["service"] for s in api.post("v2", key=alice.key, action="services")]
    client.force_login(alice.user)
    form = {"service": service.pk, "link": "https://x.com/a", "quantity": "1000"}
    form["form_token"] = str(uuid.uuid4())
    page = client.post(reverse("order_new"), form)
    assert NOT_TAKING in page.content.decode()
    assert NOT_TAKING in client.get(reverse("order_new"), {"service": service.pk}).content.decode()
    mass = {"orders": f"{service.pk}|https://x.com/b|1000", "form_token": str(uuid.uuid4())}
    assert NOT_TAKING in client.post(reverse("order_mass"), mass).content.decode()
    assert service.name not in client.get(reverse("services")).content.decode()
    assert not Order.objects.exists() and alice.balance() == Decimal(100)
    assert not LedgerEntry.objects.filter(kind="charge").exists()


def test_a_disabled_providers_orders_in_flight_reach_their_end_with_refunds(
    api, alice, service, worker, clock, upstream, second, primary
):
    Service.objects.filter(pk=service.pk).update(fallback_service=None)
    done, partial = place(api, alice, service, "x.com/a"), place(api, alice, service, "x.com/b")
    worker.run_once()
    waiting = place(api, alice, service, "x.com/c")  # queued, not sent yet, when it is disabled
    Provider.objects.filter(pk=primary.pk).update(enabled=False)
    for order in (done, partial):
        order.refresh_from_db()
    upstream.set_status(done.provider_order_id, "Completed", remains=0)
    upstream.set_status(partial.provider_order_id, "Partial", remains=400)
    rounds(worker, clock, n=3, minutes=1)
    for order in (done, partial, waiting):
        order.refresh_from_db()
    assert (done.status, refunded(done)) == (S.COMPLETED, 0)
    assert (partial.status, partial.remains, refunded(partial)) == (S.PARTIAL, 400, Decimal("0.36"))
    assert (waiting.provider_state, waiting.status) == (P.QUEUED, S.PENDING)  # waits, sent nowhere
    assert len(adds(upstream)) == 2 and adds(second) == []
    assert list(mismatches()) == []
    # The operator sees it waiting: on the dashboard and in its queue, with its cancel button.
    assert queues.counts(clock.now)["provider-off"] == 1
    console = signed_in(make_staff("ada", "administrator"))
    page = console.get(reverse("console:queue", args=["provider-off"])).content.decode()
    assert f'href="/console/orders/{waiting.pk}/"' in page and 'data-action="cancel_and_refund"' in page
    assert f"/console/orders/{done.pk}/" not in page


def test_an_order_already_claimed_for_a_disabled_provider_waits_in_its_queue(
    api, alice, service, primary, backup
):
    order = place(api, alice, service)
    Order.objects.filter(pk=order.pk).update(provider=primary)  # a retry: it stays where it went
    Provider.objects.filter(pk=primary.pk).update(enabled=False)
    assert list(listing.waiting_for_a_disabled_provider()) == [order]
    Provider.objects.filter(pk=primary.pk).update(enabled=True)
    Order.objects.filter(pk=order.pk).update(provider=None)
    Provider.objects.filter(pk=primary.pk).update(enabled=False)
    assert list(listing.waiting_for_a_disabled_provider()) == []  # the fallback will take it
    Provider.objects.filter(pk=backup.pk).update(enabled=False)
    assert list(listing.waiting_for_a_disabled_provider()) == [order]
    Provider.objects.filter(pk=backup.pk).update(enabled=True)
    Order.objects.filter(pk=order.pk).update(provider=primary)
    assert list(listing.waiting_for_a_disabled_provider()) == [order]
    operator.change_provider(order.pk, backup.pk, actor=None, now=timezone.now())  # it sells it too
    assert list(listing.waiting_for_a_disabled_provider()) == []


def test_a_cancel_asked_after_the_provider_was_disabled_still_reaches_it(
    api, alice, service, worker, clock, upstream, primary
):
    order = place(api, alice, service)
    worker.run_once()
    Provider.objects.filter(pk=primary.pk).update(enabled=False)
    api.post("v2", key=alice.key, action="cancel", orders=str(order.pk))
    clock.advance(minutes=1)
    worker.run_once()
    assert [action for action, _ in upstream.calls].count("cancel") == 1
    assert upstream.placed[0].cancel_requested
    upstream.set_status(upstream.placed[0].id, "Canceled", remains=1000)
    rounds(worker, clock, n=2, minutes=1)
    order.refresh_from_db()
    assert order.status == S.CANCELED and refunded(order) == order.charge
