"""In a real browser, with a worker running: an order reaches Completed, then the customer asks a refill.

The worker (`smmpanel worker`, tests/workers.py) sends orders to the simulated
provider, which here delivers in 2 s, always completely, and is first asked 1 s
after sending (tests/browser.py, ENGINE_ENV), so an order completes in seconds.
"""

import time
from collections.abc import Iterator

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, shots, tab: fixtures)
    Tab,
    balance_of,
    chromium,
    mail_dir,
    make_customer,
    make_shop,
    panel_server_env,
    shots,
    tab,
)
from server import panel_server, server_env  # noqa: F401  (panel_server is a fixture)
from workers import WorkerProcess, terminate

from smmpanel.catalog.models import Service
from smmpanel.catalog.offers import offer
from smmpanel.orders import drafting, placement
from smmpanel.orders.models import Order, Refill

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

COMPLETION_TIMEOUT = 30.0
COMPLETED = '#order-status[data-status="completed"]'


@pytest.fixture(scope="module")
def worker(
    panel_server: str,  # noqa: F811
    panel_server_env: dict[str, str],  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WorkerProcess]:
    """One `smmpanel worker` beside the server, on the same database and settings."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    process = WorkerProcess.start(server_env() | panel_server_env, log, "--idle", "0.2", "--threads", "4")
    try:
        process.wait_started()
        yield process
    finally:
        terminate([process])


def place(customer_id: int, service: Service, link: str, quantity: int) -> Order:
    terms = offer(customer_id, service.pk)
    assert terms is not None
    draft = drafting.draft(terms, {"link": link, "quantity": str(quantity)})
    return Order.objects.get(pk=placement.place(customer_id, draft, source=Order.Source.WEB))


def wait_until_completed(tab: Tab, order: Order, worker: WorkerProcess) -> None:  # noqa: F811
    """Watch the order's page (auto-refreshed by htmx, or reloaded here) until it shows Completed."""
    page = tab.page
    tab.go(f"/orders/{order.pk}/")
    seen = [page.locator("#order-status").get_attribute("data-status")]
    tab.shot(f"status-{seen[-1]}")
    deadline = time.monotonic() + COMPLETION_TIMEOUT
    while page.locator(COMPLETED).count() == 0:
        if time.monotonic() > deadline:
            order.refresh_from_db()
            pytest.fail(
                f"order {order.pk} not completed in {COMPLETION_TIMEOUT:.0f} s: page {seen}, "
                f"database {order.status}/{order.provider_state}\nworker log:\n{worker.output()}"
            )
        page.wait_for_timeout(500)  # the page's own refresh may come first
        if page.locator(COMPLETED).count() == 0:
            page.reload()
        status = page.locator("#order-status").get_attribute("data-status")
        if status != seen[-1]:
            seen.append(status)
            tab.shot(f"status-{status}")
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETED
    assert order.remains == 0


def test_an_order_reaches_completed(tab: Tab, worker: WorkerProcess) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("alice", "100")
    order = place(customer.pk, shop.default, "https://instagram.com/p/Watch1", 1000)
    tab.sign_in_as(customer)
    started = time.monotonic()
    wait_until_completed(tab, order, worker)
    print(f"completed after {time.monotonic() - started:.1f} s")
    assert balance_of(customer) == 100 - order.charge, "completed in full: nothing refunded"
    tab.go("/orders/?status=completed")
    assert tab.page.locator(f"main a[href='/orders/{order.pk}/']").count() >= 1
    tab.shot("completed-in-list")


def test_request_a_refill_of_a_completed_order(tab: Tab, worker: WorkerProcess) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("alice", "100")
    order = place(customer.pk, shop.default, "https://instagram.com/p/Refill1", 500)
    tab.sign_in_as(customer)
    wait_until_completed(tab, order, worker)
    page = tab.page
    button = page.locator("#refill-button")
    button.wait_for()
    tab.shot("refill-offered")
    button.click()
    page.wait_for_url(tab.url(f"/orders/{order.pk}/"))
    messages = page.locator(".messages")
    messages.wait_for()
    assert "refill" in messages.inner_text().lower()
    button_after = page.locator("#refill-button").count()
    refills = page.locator("#refills-table tbody tr")
    tab.shot("refill-requested")

    refill = Refill.objects.get(order=order)
    assert refill.user_id == customer.pk
    assert refills.count() == 1 and str(refill.pk) in refills.inner_text()
    if refill.status in Refill.OPEN:  # still open, so it was when the page was drawn
        assert button_after == 0, "one open refill at a time: no second refill button"
