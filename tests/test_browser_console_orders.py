"""In a real browser: the console's orders list fits 1366 px with no clipped column and a phone
with each row a card, in English and Spanish; the order page and the queues too; an operator
resolves an order in doubt, and completes a manual order as Partial and finds its refund in the
customer's ledger.

Playwright drives Debian's headless Chromium against `smmpanel serve` on the test database
(tests/browser.py, tests/server.py); screenshots go to artifacts/<database>/<test name>/.
"""

import time
from decimal import Decimal
from importlib import import_module

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    make_customer,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.console.guard import SEEN
from smmpanel.orders import creating, transitions
from smmpanel.orders.models import Order
from smmpanel.providers.models import UpstreamCall

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

LANGUAGES = ("en", "es")
# A link as long as customers paste them, with no space to break at.
LONG_LINK = "https://www.instagram.com/p/" + "C0nTeNt-with-a-very-long-path_" * 4 + "?igsh=MWx2cGZ6"
LONG_NAME = "Instagram Followers [Real-looking, HQ, Refill 30 days, Max 100K, Start 0-1 h, Speed 5K/day]"

# Every cell of the page's order tables whose content reaches past the cell's box, in words:
# a clipped column shows part of a value, or hides it under its neighbour.
OVERFLOWING_CELLS = """() => {
    const found = [];
    for (const table of document.querySelectorAll("table")) {
        const wrap = table.closest(".table-wrap") || table.parentElement;
        const outer = wrap.getBoundingClientRect(), box = table.getBoundingClientRect();
        if (box.right > outer.right + 0.5 || wrap.scrollWidth > wrap.clientWidth + 0.5) {
            found.push(`table#${table.id} is ${Math.round(box.width)} px in ${Math.round(outer.width)} px`);
        }
        const hidden = node => node.closest(".visually-hidden");  // for screen readers only
        for (const cell of table.querySelectorAll("th, td")) {
            if (!cell.getClientRects().length) continue;
            const edge = cell.getBoundingClientRect();
            const inside = rect => rect.width === 0 ||
                (rect.left >= edge.left - 0.5 && rect.right <= edge.right + 0.5);
            const what = `${table.id} ${cell.dataset.label || cell.textContent.trim().slice(0, 20)}`;
            if (cell.scrollWidth > cell.clientWidth + 0.5) found.push(`${what}: wider than its cell`);
            for (const element of cell.querySelectorAll("*")) {
                if (!hidden(element) && !inside(element.getBoundingClientRect())) {
                    found.push(`${what}: ${element.tagName} past the cell`);
                }
            }
            const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
            const range = document.createRange();
            for (let node = walker.nextNode(); node; node = walker.nextNode()) {
                if (hidden(node.parentElement)) continue;
                range.selectNodeContents(node);
                if (![...range.getClientRects()].every(inside)) {
                    found.push(`${what}: text "${node.textContent.trim().slice(0, 30)}" past the cell`);
                }
            }
        }
    }
    return found.slice(0, 20);
}"""


def staff_signed_in(device: Tab, user: User, language: str) -> None:
    """Signed in past both steps, as after the password and the code (a session row and its cookie)."""
    User.objects.filter(pk=user.pk).update(language=language)
    user.refresh_from_db()
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[auth.SESSION_KEY] = str(user.pk)
    store[auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    store[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=user, confirmed=True).persistent_id
    store[SEEN] = time.time()
    store.save()
    device.page.context.clear_cookies()
    cookies = [
        {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": device.base_url},
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": device.base_url},
    ]
    device.page.context.add_cookies(cookies)  # type: ignore[arg-type]


def place(customer: User, service: Service, *, quantity: int, link: str = LONG_LINK, **more: object) -> Order:
    """An order as placement stores it: the row, its `created` event and its charge."""
    now = timezone.now()
    charge = (service.rate * quantity / 1000).quantize(Decimal("0.000001"))
    new = creating.NewOrder(
        user_id=customer.pk,
        service_id=service.pk,
        kind=Order.Kind.SINGLE,
        link=link,
        quantity=quantity,
        charge=charge,
        source="web",
        **more,  # type: ignore[arg-type]
    )
    with transaction.atomic():
        order_id = creating.create(new, now)
        creating.charge(customer.pk, order_id, new.charge, now, new=True)
    return Order.objects.get(pk=order_id)


def busy_panel() -> tuple[User, Service, Service, Provider]:
    """A customer with a long name, a long-named service from a provider with a long name, and a
    manual service; orders in every state the list colours differently."""
    customer = make_customer("a-customer-with-a-really-long-username-for-support", "100000")
    category = Category.objects.create(name="Instagram", sort_order=1)
    upstream = Provider.objects.create(
        name="Upstream Panel With A Long Company Name Ltd", url="https://up.example/"
    )
    hand = Provider.objects.create(name="By hand", kind=Provider.Kind.MANUAL)
    service = Service.objects.create(
        category=category, name=LONG_NAME, rate=Decimal("1.2345"), max=1000000, provider=upstream
    )
    manual = Service.objects.create(
        category=category, name="Hand-made comments", rate=Decimal("12"), max=100000, provider=hand
    )
    now = timezone.now()
    for n in range(12):
        order = place(customer, service, quantity=123456 + n)
        if n % 4 == 1:
            transitions.claim(order.pk, now)
            transitions.sent(order.pk, f"UP-{9876543210 + n}", None, now)
            transitions.progress(
                order.pk, transitions.OperatorProgress(Order.Status.IN_PROGRESS, 1234567, 65432), now
            )
            Order.objects.filter(pk=order.pk).update(cost=Decimal("98765.432100"))
        elif n % 4 == 2:
            transitions.claim(order.pk, now)
            transitions.in_doubt(order.pk, "timed out", now)
            UpstreamCall.objects.create(
                provider=upstream,
                action="add",
                outcome="timeout",
                error="read timed out after 30 s",
                latency_ms=30000,
                order=order,
                created_at=now,
            )
        elif n % 4 == 3:
            transitions.claim(order.pk, now)
            transitions.refused(order.pk, "Not enough funds on balance", "hold", now)
    place(customer, manual, quantity=500)
    return customer, service, manual, upstream


def fits(device: Tab) -> list[str]:
    return device.past_the_edge() + [f"{device.path()}: {p}" for p in device.page.evaluate(OVERFLOWING_CELLS)]


def test_the_orders_list_and_pages_fit_a_desktop_and_a_phone_in_both_languages(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    customer, _service, _manual, _upstream = busy_panel()
    ada = make_staff("ada", "administrator")
    some = Order.objects.filter(user=customer, provider_state="sent").first()
    assert some is not None
    pages = [
        "/console/orders/",
        f"/console/orders/{some.pk}/",
        "/console/queues/",
        "/console/queues/in-doubt/",
        "/console/queues/manual/",
    ]
    problems: list[str] = []
    for device, label in ((tab, "desktop"), (phone, "phone")):
        for language in LANGUAGES:
            staff_signed_in(device, ada, language)
            for path in pages:
                device.go(path)
                assert device.page.locator("html").get_attribute("lang") == language
                device.shot(f"{label}-{language}-{path.strip('/').replace('/', '-')}")
                if label == "phone" and path == "/console/orders/":  # one row up close: a card of labels
                    row = device.page.locator("#orders-table tbody tr").nth(1)
                    row.screenshot(path=str(device.shots.folder / f"row-{language}.png"))
                problems += [f"[{label} {language}] {p}" for p in fits(device)]
    assert not problems, "\n".join(problems)
    # On a desktop every column of the list shows: none hidden, none squeezed to nothing.
    staff_signed_in(tab, ada, "en")
    tab.go("/console/orders/")
    widths = tab.page.eval_on_selector_all(
        "#orders-table thead th", "cells => cells.map(cell => cell.getBoundingClientRect().width)"
    )
    assert len(widths) == 13 and min(widths) > 20, widths  # a box to tick, then the twelve columns
    assert tab.page.locator("#orders-table tbody tr").count() == 13


def test_an_operator_resolves_an_order_in_doubt_from_its_queue(tab: Tab) -> None:  # noqa: F811
    customer, _service, _manual, _upstream = busy_panel()
    doubt = (
        Order.objects.filter(user=customer, provider_state=Order.ProviderState.UNKNOWN).order_by("id").first()
    )
    assert doubt is not None
    staff_signed_in(tab, make_staff("sam", "support"), "en")
    tab.go("/console/queues/in-doubt/")
    tab.shot("in-doubt-queue")
    row = tab.page.locator(f"#queue-table tr[data-order='{doubt.pk}']")
    row.locator("input[name='resolve_has_it-provider_order_id']").fill("UP-777")
    row.locator("button[data-action='resolve_has_it']").click()
    tab.page.wait_for_url(tab.url("/console/queues/in-doubt/"))
    tab.shot("resolved")
    assert f"Order #{doubt.pk} is sent" in tab.page.locator(".messages").inner_text()
    assert tab.page.locator(f"#queue-table tr[data-order='{doubt.pk}']").count() == 0
    doubt.refresh_from_db()
    assert (doubt.provider_state, doubt.provider_order_id) == (Order.ProviderState.SENT, "UP-777")
    tab.go(f"/console/orders/{doubt.pk}/")
    timeline = tab.page.locator("#timeline").inner_text()
    assert "Confirmed received by the supplier" in timeline and "by sam" in timeline
    tab.assert_no_horizontal_scroll()


def test_an_operator_completes_a_manual_order_as_partial_and_the_customer_sees_the_refund(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    customer, _service, manual, _upstream = busy_panel()
    order = Order.objects.get(service=manual)
    now = timezone.now()
    transitions.claim(order.pk, now)  # the engine marks a manual order sent at once
    transitions.sent(order.pk, f"manual-{order.pk}", None, now)
    ada = make_staff("ada", "administrator")
    for device, language in ((tab, "en"), (phone, "es")):
        staff_signed_in(device, ada, language)
        device.go("/console/queues/manual/")
        device.shot(f"manual-queue-{language}")
        assert device.page.locator(f"#queue-table tr[data-order='{order.pk}']").count() == 1
        device.go(f"/console/orders/{order.pk}/")
        device.shot(f"manual-order-{language}")
        device.assert_no_horizontal_scroll()
    # 500 units for 6.00: 125 not delivered refund 1.50, shown before anything changes.
    page = tab.page
    staff_signed_in(tab, ada, "en")
    tab.go(f"/console/orders/{order.pk}/")
    page.fill("#id_mark_partial-remains", "125")
    page.locator("#action-mark_partial button").click()
    page.locator("#partial-confirm").wait_for()
    assert tab.path() == f"/console/orders/{order.pk}/", "htmx shows the refund in the page itself"
    preview = page.locator("#partial-confirm").inner_text()
    assert "refunds 1.50 USD to a-customer-with-a-really-long-username-for-support" in preview
    tab.shot("partial-preview")
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING
    page.locator("#confirm-partial").click()
    page.wait_for_url(tab.url(f"/console/orders/{order.pk}/"))
    tab.shot("partial-done")
    assert "1.50 USD refunded to the customer" in page.locator(".messages").inner_text()
    timeline = page.locator("#timeline").inner_text()
    assert "Marked partially delivered" in timeline and "Refunded" in timeline and "1.50 USD" in timeline
    order.refresh_from_db()
    assert (order.status, order.remains) == (Order.Status.PARTIAL, 125)
    # The customer's own ledger (the website's transactions page) shows the refund.
    User.objects.filter(pk=customer.pk).update(language="en")
    phone.page.context.clear_cookies()
    phone.sign_in_as(customer)
    phone.go("/transactions/")
    phone.shot("customer-transactions")
    assert "+1.50 USD" in phone.page.locator("main").inner_text().replace("\u2009", " ")


def test_an_operator_resends_ticked_orders_from_the_list_and_reads_what_was_refused(
    tab: Tab,  # noqa: F811
) -> None:
    customer, _service, _manual, _upstream = busy_panel()
    held = list(Order.objects.filter(user=customer, provider_state=Order.ProviderState.FAILED).order_by("id"))
    sent = Order.objects.filter(user=customer, provider_state=Order.ProviderState.SENT).first()
    assert len(held) == 3 and sent is not None
    staff_signed_in(tab, make_staff("sam", "support"), "es")
    tab.go("/console/orders/")
    for order in [*held[:2], sent]:
        tab.page.locator(f"#orders-table tr[data-order='{order.pk}'] input[type=checkbox]").check()
    tab.page.select_option("#bulk-form select[name=action]", "resend")
    tab.page.fill("#bulk-form input[name=note]", "funds added upstream")
    tab.shot("ticked")
    tab.page.locator("#bulk-apply").click()
    tab.page.locator("#bulk-summary").wait_for()
    tab.shot("results")
    assert tab.page.locator("#done-orders li").count() == 2
    refused = tab.page.locator(f"#refused-orders li[data-order='{sent.pk}']").inner_text()
    assert f"#{sent.pk}" in refused and "segundo pedido" in refused  # why, in Spanish
    assert Order.objects.filter(pk__in=[o.pk for o in held[:2]], provider_state="queued").count() == 2
    tab.assert_no_horizontal_scroll()
