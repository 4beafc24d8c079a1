"""The console's orders: the list of every order (filters, search, CSV), an order's page, the
queues of what needs a person, and the order actions as views (each audited, refused from an
unsafe state, and closed to roles without `order_actions`).

alice and bob are customers (tests/conftest.py); ada (administrator), sam (support) and fay
(finance) are staff (tests/staff.py).
"""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from conftest import Catalogue, Customer
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from staff import make_staff, signed_in

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog.models import Provider, Service
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders import creating, transitions
from smmpanel.orders.listing import stuck
from smmpanel.orders.models import Order, Refill
from smmpanel.payments import services as payments
from smmpanel.providers.models import UpstreamCall

pytestmark = pytest.mark.django_db

P, S = Order.ProviderState, Order.Status
HOSTILE_LINK = 'https://x.com/"><img src=x onerror=alert(1)><script>alert(2)</script>'
HOSTILE_NAME = "<script>alert(3)</script>"


@pytest.fixture
def upstream(catalogue: Catalogue) -> Provider:
    """The provider the catalogue's services are bought from."""
    provider = Provider.objects.create(name="Upstream One", url="https://one.example/api/v2")
    Service.objects.filter(pk__in=[catalogue.default.pk, catalogue.package.pk]).update(provider=provider)
    return provider


@pytest.fixture
def ada(db: None) -> Client:
    return signed_in(make_staff("ada", "administrator"))


def place(
    customer: Customer, service: Service, *, quantity: int = 100, link: str = "https://x.com/a", **more: Any
) -> Order:
    """An order as placement stores it: the row, its `created` event and its charge."""
    now = more.pop("now", timezone.now())
    charge = (service.rate * quantity / 1000).quantize(Decimal("0.000001"))
    new = creating.NewOrder(
        user_id=customer.user.pk,
        service_id=service.pk,
        kind=more.pop("kind", Order.Kind.SINGLE),
        link=link,
        quantity=quantity,
        charge=charge,
        source=more.pop("source", "api"),
        **more,
    )
    with transaction.atomic():
        order_id = creating.create(new, now)
        creating.charge(customer.user.pk, order_id, new.charge, now, new=True)
    return Order.objects.get(pk=order_id)


def drive(order: Order, state: str, now: datetime | None = None) -> Order:
    """Move a queued order to `state` through the transitions the engine uses."""
    now = now or timezone.now()
    pk = order.pk
    if state != "queued":
        assert transitions.claim(pk, now)
    if state in ("sent", "in_progress", "completed", "partial"):
        assert transitions.sent(pk, f"up-{pk}", None, now)
    if state == "in_progress":
        assert transitions.progress(pk, transitions.OperatorProgress(S.IN_PROGRESS, 10, 700), now)
    if state in ("completed", "partial"):
        assert transitions.finish(pk, {"partial": S.PARTIAL}.get(state, state), 400, now)
    if state == "unknown":
        assert transitions.in_doubt(pk, "timed out", now)
    if state == "held":
        assert transitions.refused(pk, "Not enough funds on balance", "hold", now)
    order.refresh_from_db()
    return order


def listed(client: Client, **params: str) -> list[int]:
    """The order ids the orders list shows for these GET parameters, in order."""
    response = client.get(reverse("console:orders"), params)
    assert response.status_code == 200
    return [order.pk for order in response.context["page"].object_list]


# --- The list -------------------------------------------------------------------------------------


def test_the_list_shows_every_customers_orders_newest_first_fifty_a_page(
    ada: Client, alice: Customer, bob: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    ids = [place(alice if n % 2 else bob, catalogue.default).pk for n in range(55)]
    assert listed(ada) == ids[::-1][:50]
    assert listed(ada, page="2") == ids[::-1][50:]
    page = ada.get(reverse("console:orders")).content.decode()
    assert "55 orders" in page and "Page 1 of 2" in page


def test_each_filter_narrows_the_list(
    ada: Client, alice: Customer, bob: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    other = Provider.objects.create(name="Upstream Two", url="https://two.example/api/v2")
    queued = place(alice, catalogue.default)
    sent = drive(place(alice, catalogue.default), "in_progress")
    doubt = drive(place(bob, catalogue.package, quantity=1, source="web"), "unknown")
    moved = place(bob, catalogue.default)
    Order.objects.filter(pk=moved.pk).update(provider=other)
    old = place(alice, catalogue.default, now=timezone.now() - timedelta(days=10))

    assert listed(ada, status="in_progress") == [sent.pk]
    assert listed(ada, provider_state="unknown") == [doubt.pk]
    assert listed(ada, source="web") == [doubt.pk]
    assert listed(ada, service=str(catalogue.package.pk)) == [doubt.pk]
    assert listed(ada, provider=str(other.pk)) == [moved.pk]
    assert set(listed(ada, provider=str(upstream.pk))) == {queued.pk, sent.pk, doubt.pk, old.pk}
    assert listed(ada, customer="BOB") == [moved.pk, doubt.pk]
    assert listed(ada, customer=str(bob.user.pk)) == [moved.pk, doubt.pk]
    today = timezone.now().date()
    assert old.pk not in listed(ada, since=str(today - timedelta(days=1)))
    assert listed(ada, until=str(today - timedelta(days=9))) == [old.pk]
    assert listed(ada, kind="dripfeed") == []
    assert listed(ada, status="in_progress", customer="bob") == []


def test_search_finds_an_order_by_id_link_provider_order_id_or_username(
    ada: Client, alice: Customer, bob: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    first = place(alice, catalogue.default, link="https://instagram.com/p/sunset")
    second = drive(place(bob, catalogue.default, link="https://instagram.com/p/harbour"), "sent")
    assert listed(ada, q=str(first.pk)) == [first.pk]
    assert listed(ada, q=f"#{first.pk}") == [first.pk]
    assert listed(ada, q="harbour") == [second.pk]
    assert listed(ada, q=f"up-{second.pk}") == [second.pk]
    assert listed(ada, q="Alice") == [first.pk]
    assert listed(ada, q="nothing-like-it") == []
    page = ada.get(reverse("console:orders"), {"q": "nothing-like-it"}).content.decode()
    assert "No order matches." in page


def test_bad_filters_are_explained_and_list_nothing(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    place(alice, catalogue.default)
    response = ada.get(
        reverse("console:orders"), {"status": "lost", "since": "yesterday", "service": "99999"}
    )
    assert response.status_code == 200
    assert list(response.context["page"].object_list) == []
    form = response.context["form"]
    assert set(form.errors) == {"status", "since", "service"}
    assert "There is no service with that id." in response.content.decode()
    response = ada.get(reverse("console:orders"), {"since": "2026-05-02", "until": "2026-05-01"})
    assert "The end of the date range is before its start." in response.content.decode()


def test_the_list_runs_two_queries_for_fifty_orders_whatever_they_hold(
    ada: Client, alice: Customer, bob: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    for n in range(60):
        order = place(alice if n % 2 else bob, catalogue.default if n % 3 else catalogue.package, quantity=1)
        if n % 4 == 0:
            drive(order, "sent")
    ada.get(reverse("console:orders"))  # the session and the staff checks, once
    with CaptureQueriesContext(connection) as queries:
        assert ada.get(reverse("console:orders")).status_code == 200
    touching_orders = [q["sql"] for q in queries.captured_queries if "orders_order" in q["sql"]]
    assert len(touching_orders) == 2, touching_orders  # the count and the page


def test_hostile_links_and_usernames_are_inert_on_the_list_the_order_page_and_a_queue(
    ada: Client, catalogue: Catalogue, upstream: Provider
) -> None:
    from conftest import make_customer

    mallory = make_customer(HOSTILE_NAME, "50")
    order = drive(place(mallory, catalogue.default, link=HOSTILE_LINK), "unknown")
    pages = [reverse("console:orders"), reverse("console:order", args=[order.pk])]
    for url in [*pages, reverse("console:queue", args=["in-doubt"])]:
        page = ada.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page


# --- CSV --------------------------------------------------------------------------------------------


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_holds_every_filtered_order_with_exact_amounts(
    ada: Client, alice: Customer, bob: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    ids = [place(alice, catalogue.default, quantity=1001).pk for _ in range(60)]
    place(bob, catalogue.default)
    Order.objects.filter(pk=ids[0]).update(cost=Decimal("0.123456"))
    rows = rows_of(ada.get(reverse("console:orders"), {"customer": "alice", "format": "csv"}))
    assert [int(row["id"]) for row in rows] == ids[::-1]  # all 60, not a page of 50
    first = rows[-1]
    assert first["charge"] == "0.900900"  # 0.90 x 1001 / 1000, every decimal
    assert first["cost"] == "0.123456"
    assert (
        first["customer"] == "alice" and first["status"] == "pending" and first["provider"] == "Upstream One"
    )


def test_csv_cells_a_spreadsheet_would_run_are_kept_as_text(
    ada: Client, catalogue: Catalogue, upstream: Provider
) -> None:
    from conftest import make_customer

    for n, start in enumerate(["=", "+", "-", "@"]):
        customer = make_customer(f"{start}cmd{n}", "10")
        place(customer, catalogue.default, link=f'{start}HYPERLINK("https://evil.example")')
    rows = rows_of(ada.get(reverse("console:orders"), {"format": "csv"}))
    assert len(rows) == 4
    for row in rows:
        assert row["link"].startswith("'") and row["link"][1] in "=+-@"
        assert row["customer"].startswith("'")


# --- One order ----------------------------------------------------------------------------------------


def test_the_order_page_tells_its_story_with_money_and_upstream_calls(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    order = drive(place(alice, catalogue.default, quantity=1000), "in_progress")
    now = timezone.now()
    UpstreamCall.objects.create(
        provider=upstream,
        action="add",
        outcome="ok",
        http_status=200,
        latency_ms=321,
        order=order,
        created_at=now,
    )
    UpstreamCall.objects.create(
        provider=upstream,
        action="status",
        outcome="timeout",
        error="read timed out",
        latency_ms=30000,
        order=order,
        created_at=now,
    )
    transitions.finish(order.pk, S.PARTIAL, 250, now)
    page = ada.get(reverse("console:order", args=[order.pk])).content.decode()
    timeline = page[page.index('id="timeline"') : page.index('id="order-calls"')]
    for words in (
        "Order placed",
        "Charged",
        "−0.90 USD",
        "Delivery started",
        f"up-{order.pk}",
        "remains 700",
        "Finished",
        "remains 250",
        "Refunded",
        "0.225 USD",
    ):
        assert words in timeline or words.replace("−", "-") in timeline, words
    calls = page[page.index('id="upstream-calls"') :]
    assert "321 ms" in calls and "read timed out" in calls and "Timed out" in calls and "200" in calls


def test_a_dripfeed_order_page_links_its_runs(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    parent = place(alice, catalogue.default, kind=Order.Kind.DRIPFEED, runs=3, interval_minutes=60)
    from smmpanel.orders import dripfeed

    assert dripfeed.release(parent.pk, timezone.now())
    run = Order.objects.get(parent=parent)
    page = ada.get(reverse("console:order", args=[parent.pk])).content.decode()
    assert reverse("console:order", args=[run.pk]) in page
    page = ada.get(reverse("console:order", args=[run.pk])).content.decode()
    assert reverse("console:order", args=[parent.pk]) in page


def test_a_missing_order_is_not_found(ada: Client) -> None:
    assert ada.get(reverse("console:order", args=[999999])).status_code == 404


# --- Queues -------------------------------------------------------------------------------------------


def queued_ids(client: Client, name: str) -> list[int]:
    response = client.get(reverse("console:queue", args=[name]))
    assert response.status_code == 200
    return [row.pk for row in response.context["page"].object_list]


def test_each_queue_lists_the_orders_that_need_a_person(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, settings: Any
) -> None:
    settings.SMMPANEL_STUCK_AFTER_MINUTES = 60
    hand = Provider.objects.create(name="By hand", kind=Provider.Kind.MANUAL)
    manual_service = Service.objects.create(
        category=catalogue.default.category, name="Hand-made", rate=Decimal("2"), provider=hand
    )
    quick = Service.objects.create(
        category=catalogue.default.category,
        name="Quick",
        rate=Decimal("1"),
        provider=upstream,
        stuck_after_minutes=10,
    )
    fresh = drive(place(alice, catalogue.default), "sent")
    doubt = drive(place(alice, catalogue.default), "unknown")
    held = drive(place(alice, catalogue.default), "held")
    done = drive(place(alice, catalogue.default), "completed")
    long_ago = timezone.now() - timedelta(minutes=90)
    late = drive(place(alice, catalogue.default, now=long_ago), "sent", long_ago)
    twenty_ago = timezone.now() - timedelta(minutes=20)
    late_quick = drive(place(alice, quick, now=twenty_ago), "sent", twenty_ago)
    by_hand = place(alice, manual_service)
    cancel = drive(place(alice, catalogue.default), "sent")
    Order.objects.filter(pk=cancel.pk).update(cancel_requested_at=timezone.now())
    refill = Refill.objects.create(order=done, user=alice.user)
    payment = payments.request_bank_transfer(alice.user, Decimal("25"))

    off = Provider.objects.create(name="Off", enabled=False)
    waiting = place(
        alice, Service.objects.create(category=quick.category, name="Off", rate=Decimal(1), provider=off)
    )
    later_doubt = drive(place(alice, catalogue.default), "unknown")
    assert queued_ids(ada, "in-doubt") == [doubt.pk, later_doubt.pk]  # the longest waiting first
    assert queued_ids(ada, "failed") == [held.pk]
    assert set(queued_ids(ada, "stuck")) == {late.pk, late_quick.pk}
    assert fresh.pk not in queued_ids(ada, "stuck")
    assert queued_ids(ada, "manual") == [by_hand.pk]
    assert queued_ids(ada, "cancels") == [cancel.pk]
    assert queued_ids(ada, "refills") == [refill.pk]
    assert queued_ids(ada, "provider-off") == [waiting.pk]  # not sent, its provider disabled
    assert queued_ids(ada, "deposits") == [payment.pk]
    assert (
        f"/console/deposits/{payment.pk}/"
        in ada.get(reverse("console:queue", args=["deposits"])).content.decode()
    )
    index = ada.get(reverse("console:queues"))
    counts = {queue.name: count for queue, count in index.context["queues"]}
    assert counts == {
        "in-doubt": 2,
        "failed": 1,
        "stuck": 2,
        "manual": 1,
        "provider-off": 1,
        "cancels": 1,
        "refills": 1,
        "deposits": 1,
        "late-deposits": 0,  # gateway deposits waiting past the poll delay (tests/test_console_deposits.py)
    }


def test_stuck_counts_from_the_last_step_of_an_orders_history(
    alice: Customer, catalogue: Catalogue, upstream: Provider, settings: Any
) -> None:
    settings.SMMPANEL_STUCK_AFTER_MINUTES = 60
    then = timezone.now() - timedelta(hours=3)
    order = drive(place(alice, catalogue.default, now=then), "sent", then)
    assert list(stuck(timezone.now())) == [order]
    transitions.progress(order.pk, transitions.OperatorProgress(S.IN_PROGRESS, 5, 900), timezone.now())
    assert list(stuck(timezone.now())) == []
    assert list(stuck(timezone.now() + timedelta(minutes=61))) == [Order.objects.get(pk=order.pk)]


def test_support_sees_the_order_queues_but_not_the_bank_transfers(alice: Customer) -> None:
    sam = signed_in(make_staff("sam", "support"))
    index = sam.get(reverse("console:queues"))
    assert "deposits" not in {queue.name for queue, _count in index.context["queues"]}
    assert sam.get(reverse("console:queue", args=["deposits"])).status_code == 403
    assert sam.get(reverse("console:queue", args=["in-doubt"])).status_code == 200
    assert sam.get(reverse("console:queue", args=["no-such-queue"])).status_code == 404


@pytest.mark.parametrize("role", ["administrator", "support", "finance"])
def test_every_role_reads_orders_and_finds_them_in_the_menu(role: str) -> None:
    client = signed_in(make_staff("sam", role))
    page = client.get(reverse("console:dashboard")).content.decode()
    assert reverse("console:orders") in page and reverse("console:queues") in page
    assert client.get(reverse("console:orders")).status_code == 200


def test_a_visitor_is_sent_to_sign_in() -> None:
    response = Client().get(reverse("console:orders"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("console:login"))


# --- The actions as views ---------------------------------------------------------------------------

ROLES = ("administrator", "support", "finance")
ACTIONS = (
    "resend",
    "change_provider",
    "edit_link",
    "set_start_count",
    "set_remains",
    "mark_completed",
    "mark_partial",
    "cancel_and_refund",
    "resolve_has_it",
    "resolve_never_got_it",
    "resolve_cancel",
)
# A state each action is safe from, and one it is refused from.
SAFE = {
    "resend": "held",
    "change_provider": "queued",
    "edit_link": "held",
    "set_start_count": "sent",
    "set_remains": "in_progress",
    "mark_completed": "sent",
    "mark_partial": "in_progress",
    "cancel_and_refund": "queued",
    "resolve_has_it": "unknown",
    "resolve_never_got_it": "unknown",
    "resolve_cancel": "unknown",
}
UNSAFE = {
    "resend": "sent",
    "change_provider": "sent",
    "edit_link": "unknown",
    "set_start_count": "completed",  # refused: with the start count it already has
    "set_remains": "queued",
    "mark_completed": "queued",
    "mark_partial": "completed",
    "cancel_and_refund": "completed",
    "resolve_has_it": "sent",
    "resolve_never_got_it": "held",
    "resolve_cancel": "completed",
}


@pytest.fixture
def other(upstream: Provider, catalogue: Catalogue) -> Provider:
    """A second provider that sells the catalogue's services too (manual: it takes any service)."""
    return Provider.objects.create(name="Second Desk", kind=Provider.Kind.MANUAL)


def values(action: str, other: Provider, order: Order) -> dict[str, Any]:
    """The form values of `action` (each field named after its action, as the page names them)."""
    given: dict[str, Any] = {
        "change_provider": {"provider": other.pk},
        "edit_link": {"link": "https://x.com/corrected"},
        "set_start_count": {"n": 123},
        "set_remains": {"n": 5},
        "mark_partial": {"remains": 30},
        "resolve_has_it": {"provider_order_id": "77"},
    }.get(action, {})
    return {f"{action}-{name}": value for name, value in {**given, "note": "checked by phone"}.items()}


def act(client: Client, order: Order, action: str, other: Provider, **extra: Any) -> Any:
    url = reverse("console:order_action", args=[order.pk, action])
    return client.post(url, {**values(action, other, order), **extra})


def snapshot(order: Order) -> tuple[Any, ...]:
    order.refresh_from_db()
    return (
        order.status,
        order.provider_state,
        order.link,
        order.start_count,
        order.remains,
        order.provider_id,
    )


def said(response: Any) -> list[str]:
    return [str(message) for message in response.wsgi_request._messages]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_each_action_is_for_administrators_and_support_and_refused_to_finance(
    role: str, action: str, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    order = drive(place(alice, catalogue.default), SAFE[action])
    before, entries = snapshot(order), LedgerEntry.objects.count()
    client = signed_in(make_staff("sam", role))
    response = act(client, order, action, other)
    if role == "finance":
        assert response.status_code == 403
        assert snapshot(order) == before and LedgerEntry.objects.count() == entries
        assert not AuditRecord.objects.filter(action__startswith="order.").exists()
    else:
        assert response.status_code == 302, said(response)
        assert snapshot(order) != before, said(response)
        record = AuditRecord.objects.get(action=f"order.{action}")
        assert (record.object_type, record.object_id, record.role) == ("order", str(order.pk), role)
        assert record.note == "checked by phone"


def test_each_action_does_what_it_says_and_moves_money_only_as_a_refund(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    orders = {action: drive(place(alice, catalogue.default), SAFE[action]) for action in ACTIONS}
    for action, order in orders.items():
        response = act(ada, order, action, other)
        assert response.status_code == 302 and response["Location"] == reverse(
            "console:order", args=[order.pk]
        )
        assert not [m for m in response.wsgi_request._messages if m.level_tag == "error"], said(response)
    got = {action: Order.objects.get(pk=order.pk) for action, order in orders.items()}
    assert got["resend"].provider_state == P.QUEUED
    assert got["change_provider"].provider_id == other.pk
    assert got["edit_link"].link == "https://x.com/corrected"
    assert got["set_start_count"].start_count == 123
    assert got["set_remains"].remains == 5
    assert (got["mark_completed"].status, got["mark_completed"].remains) == (S.COMPLETED, 0)
    assert (got["mark_partial"].status, got["mark_partial"].remains) == (S.PARTIAL, 30)
    assert got["cancel_and_refund"].status == S.CANCELED
    assert (got["resolve_has_it"].provider_state, got["resolve_has_it"].provider_order_id) == (P.SENT, "77")
    assert got["resolve_never_got_it"].provider_state == P.QUEUED
    assert got["resolve_cancel"].status == S.CANCELED
    refunds = dict(LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).values_list("order_id", "amount"))
    # 100 units at 0.90 per 1000 cost 0.09: Partial with 30 left refunds 0.027; a cancel all of it.
    assert refunds == {
        orders["mark_partial"].pk: Decimal("0.027"),
        orders["cancel_and_refund"].pk: Decimal("0.09"),
        orders["resolve_cancel"].pk: Decimal("0.09"),
    }
    audited = AuditRecord.objects.get(action="order.mark_partial")
    assert audited.before["status"] == "in_progress" and audited.after == {
        "status": "partial",
        "remains": 30,
        "refund": "0.027000",
    }


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_from_an_unsafe_state_is_refused_with_its_reason_and_changes_nothing(
    action: str, ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    order = drive(place(alice, catalogue.default), UNSAFE[action])
    before, entries = snapshot(order), LedgerEntry.objects.count()
    same = {"set_start_count-n": order.start_count} if action == "set_start_count" else {}
    response = act(ada, order, action, other, **same)
    assert response.status_code == 302
    errors = [str(m) for m in response.wsgi_request._messages if m.level_tag == "error"]
    assert len(errors) == 1 and f"#{order.pk}" in errors[0], errors
    assert snapshot(order) == before and LedgerEntry.objects.count() == entries
    assert not AuditRecord.objects.filter(action__startswith="order.").exists()
    page = ada.get(response["Location"]).content.decode()
    assert "message error" in page


def test_bad_values_are_explained_and_change_nothing(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    order = drive(place(alice, catalogue.default), "in_progress")
    before = snapshot(order)
    response = ada.post(
        reverse("console:order_action", args=[order.pk, "set_remains"]), {"set_remains-n": "-3"}
    )
    assert "Nothing was changed." in said(response)[0]
    response = ada.post(
        reverse("console:order_action", args=[order.pk, "mark_partial"]), {"mark_partial-remains": "x"}
    )
    assert "Nothing was changed." in said(response)[0]
    assert snapshot(order) == before and not AuditRecord.objects.exists()
    assert ada.post(reverse("console:order_action", args=[order.pk, "explode"])).status_code == 404


def test_actions_take_only_a_post_with_its_csrf_token(
    alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    order = drive(place(alice, catalogue.default), "sent")
    client = signed_in(make_staff("ada", "administrator"))
    url = reverse("console:order_action", args=[order.pk, "mark_completed"])
    assert client.get(url).status_code == 405
    client.handler.enforce_csrf_checks = True
    assert client.post(url).status_code == 403
    assert Order.objects.get(pk=order.pk).status == S.PENDING


def test_the_order_page_offers_the_actions_of_its_state_and_each_is_accepted(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    for state in ("queued", "held", "unknown", "sent", "completed"):
        shown = drive(place(alice, catalogue.default), state)
        offered = [
            action.name for action in ada.get(reverse("console:order", args=[shown.pk])).context["actions"]
        ]
        assert offered, state
        for action in offered:
            order = drive(place(alice, catalogue.default), state)
            response = act(ada, order, action, other)
            errors = [str(m) for m in response.wsgi_request._messages if m.level_tag == "error"]
            if action == "mark_partial":
                continue  # offered as the refund's preview first (below)
            assert not errors, (state, action, errors)
    finance = signed_in(make_staff("fay", "finance"))
    page = finance.get(reverse("console:order", args=[shown.pk]))
    assert page.status_code == 200 and page.context["actions"] == []
    assert 'id="order-actions"' not in page.content.decode()


def test_partial_shows_the_refund_before_it_is_confirmed(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    order = drive(place(alice, catalogue.default), "in_progress")
    url = reverse("console:order_partial", args=[order.pk])
    page = ada.get(url, {"mark_partial-remains": "30"}).content.decode()
    assert "0.027 USD" in page and 'name="mark_partial-remains" value="30"' in page
    assert Order.objects.get(pk=order.pk).status == S.IN_PROGRESS  # nothing happens before confirming
    fragment = ada.get(url, {"mark_partial-remains": "30"}, headers={"HX-Request": "true"}).content.decode()
    assert "0.027 USD" in fragment and "<html" not in fragment
    refused = ada.get(url, {"mark_partial-remains": "100"}).content.decode()
    assert 'id="partial-refusal"' in refused and "confirm-partial" not in refused
    assert signed_in(make_staff("fay", "finance")).get(url, {"mark_partial-remains": "30"}).status_code == 403


def test_an_action_from_a_queue_goes_back_to_the_queue(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    order = drive(place(alice, catalogue.default), "unknown")
    queue = reverse("console:queue", args=["in-doubt"])
    page = ada.get(queue).content.decode()
    assert reverse("console:order_action", args=[order.pk, "resolve_has_it"]) in page
    response = act(ada, order, "resolve_has_it", other, next=queue)
    assert response["Location"] == queue
    assert queued_ids(ada, "in-doubt") == []
    response = act(ada, order, "resolve_cancel", other, next="https://evil.example/")
    assert response["Location"] == reverse("console:order", args=[order.pk])


# --- Bulk ---------------------------------------------------------------------------------------------


def test_bulk_cancels_two_hundred_orders_in_one_request_each_audited_and_refused_ones_listed(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    orders = [place(alice, catalogue.default) for _ in range(199)]
    finished = drive(place(alice, catalogue.default), "completed")
    ids = [order.pk for order in orders] + [finished.pk]
    response = ada.post(
        reverse("console:orders_bulk"), {"action": "cancel_and_refund", "orders": ids, "note": "bulk"}
    )
    assert response.status_code == 200
    assert response.context["refused"] == [(finished.pk, response.context["refused"][0][1])]
    assert len(response.context["done"]) == 199
    assert Order.objects.filter(pk__in=ids[:-1], status=S.CANCELED).count() == 199
    records = AuditRecord.objects.filter(action="order.cancel_and_refund")
    assert sorted(int(pk) for pk in records.values_list("object_id", flat=True)) == sorted(ids[:-1])
    assert set(records.values_list("note", flat=True)) == {"bulk"}
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, order_id__in=ids)
    assert refunds.count() == 199
    page = response.content.decode()
    assert f"#{finished.pk}</a>:" in page


def test_bulk_refuses_more_than_two_hundred_and_changes_nothing(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    ids = [place(alice, catalogue.default).pk for _ in range(201)]
    response = ada.post(reverse("console:orders_bulk"), {"action": "cancel_and_refund", "orders": ids})
    assert response.status_code == 302
    assert "At most 200 orders at a time" in said(response)[0]
    assert not Order.objects.filter(status=S.CANCELED).exists() and not AuditRecord.objects.exists()


def test_bulk_change_of_provider_needs_the_provider_and_is_refused_to_finance(
    alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    order = place(alice, catalogue.default)
    ada = signed_in(make_staff("ada", "administrator"))
    response = ada.post(reverse("console:orders_bulk"), {"action": "change_provider", "orders": [order.pk]})
    assert "Choose the provider" in said(response)[0]
    fay = signed_in(make_staff("fay", "finance"))
    form = {"action": "change_provider", "orders": [order.pk], "provider": other.pk}
    assert fay.post(reverse("console:orders_bulk"), form).status_code == 403
    assert Order.objects.get(pk=order.pk).provider_id is None
    assert ada.post(reverse("console:orders_bulk"), form).status_code == 200
    assert Order.objects.get(pk=order.pk).provider_id == other.pk
    assert 'id="bulk-form"' not in fay.get(reverse("console:orders")).content.decode()
    assert 'id="bulk-form"' in ada.get(reverse("console:orders")).content.decode()


def test_the_timeline_names_the_operator_their_note_and_the_refund_of_their_action(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider, other: Provider
) -> None:
    order = drive(place(alice, catalogue.default), "sent")
    act(ada, order, "cancel_and_refund", other)
    page = ada.get(reverse("console:order", args=[order.pk])).content.decode()
    timeline = page[page.index('id="timeline"') : page.index('id="order-calls"')]
    for words in (
        "Canceled by the panel",
        "the provider may still deliver",
        "note: checked by phone",
        "by ada",
        "Refunded",
        "0.09 USD",
    ):
        assert words in timeline, words


def queries_for(client: Client, url: str) -> int:
    client.get(url)  # the session and the staff checks settle first
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries.captured_queries)


def test_an_order_page_and_a_queue_cost_the_same_queries_however_much_they_hold(
    ada: Client, alice: Customer, catalogue: Catalogue, upstream: Provider
) -> None:
    from smmpanel.orders import dripfeed

    small = place(alice, catalogue.default, kind=Order.Kind.DRIPFEED, runs=2, interval_minutes=1)
    big = place(alice, catalogue.default, kind=Order.Kind.DRIPFEED, runs=12, interval_minutes=1)
    for minute in range(12):
        dripfeed.release(big.pk, timezone.now() + timedelta(minutes=minute))
    dripfeed.release(small.pk, timezone.now())
    assert big.children.count() == 12 and small.children.count() == 1
    page = queries_for(ada, reverse("console:order", args=[small.pk]))
    assert queries_for(ada, reverse("console:order", args=[big.pk])) == page
    drive(place(alice, catalogue.default), "unknown")
    one = queries_for(ada, reverse("console:queue", args=["in-doubt"]))
    for _ in range(20):
        drive(place(alice, catalogue.default), "unknown")
    assert queries_for(ada, reverse("console:queue", args=["in-doubt"])) == one
