"""What a customer types renders inert on every page that shows it, the customer's and the operator's.

Orders are placed through the reseller API with a link, comments and usernames
made of `<script>`, event-handler and quote-breaking payloads. Then every page
that shows them is rendered:

- with Django's test client: no payload reaches the HTML unescaped, and the
  escaped form is there (the page does show what was typed);
- in headless Chromium against the real server: no dialog opens, no element
  the payload describes exists in the DOM, no CSP violation is logged, and the
  payload is visible as plain text.

The website's own forms that echo input back (the orders search, a refused
order form, the mass-order results and the textarea of failed lines) are
checked the same way.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, shots: fixtures)
    PASSWORD,
    Shots,
    Tab,
    chromium,
    mail_dir,
    make_operator,
    make_shop,
    open_tab,
    panel_server_env,
    set_password,
    shots,
)
from django.test import Client
from django.utils.html import escape
from playwright.sync_api import Browser
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import create_customer
from smmpanel.orders.models import Order

SMMPANEL = Path(__file__).resolve().parent.parent / "smmpanel"

# No spaces: a link may not hold any (the API refuses it), so the tag is split with slashes.
LINK = "https://example.com/?q=<script>alert(1)</script>\"'><img/src=x/onerror=alert(1)>"
COMMENTS = [
    "<script>alert(2)</script>",
    '"><svg onload=alert(3)>',
    "</textarea><script>alert(4)</script>",
    "{{ 7*7 }}",
]
USERNAMES = ["<img src=x onerror=alert(5)>", "'><script>alert(6)</script>"]
# What would run, or break out of an attribute or a textarea, if it reached a page unescaped.
RAW = (
    "<script>alert(",
    "<img/src=x",
    "<img src=x",
    "<svg onload",
    "\"'><img",
    "'><script",
    "</textarea><script",
)
# The escaped forms a page that shows the order must hold.
LINK_SHOWN = escape(LINK)
COMMENTS_SHOWN = (
    "&lt;script&gt;alert(2)&lt;/script&gt;",
    "&lt;svg onload=alert(3)&gt;",
    "&lt;/textarea&gt;&lt;script&gt;alert(4)&lt;/script&gt;",
    "{{ 7*7 }}",
)
USERNAMES_SHOWN = ("&lt;img src=x onerror=alert(5)&gt;", "&lt;script&gt;alert(6)&lt;/script&gt;")


@dataclass
class Hostile:
    customer: User
    key: str
    default: Order
    comments: Order
    usernames: Order


def seed(username: str, post: Callable[..., Any]) -> Hostile:
    """A customer and three orders placed through the API (`post` sends one v2 request)."""
    shop = make_shop()
    mentions = Service.objects.create(
        category=shop.category,
        name="Instagram Mentions Custom List",
        type=ServiceType.MENTIONS_CUSTOM_LIST,
        rate=Decimal("3.00"),
        min=1,
        max=1000,
        provider=shop.provider,
    )
    customer, key = create_customer(username, email=f"{username}@example.com", balance=Decimal(100))
    set_password(customer)
    requests = {
        "default": {"service": shop.default.pk, "link": LINK, "quantity": 100},
        "comments": {"service": shop.comments.pk, "link": LINK, "comments": "\n".join(COMMENTS)},
        "usernames": {"service": mentions.pk, "link": LINK, "usernames": "\n".join(USERNAMES)},
    }
    placed = {}
    for name, params in requests.items():
        answer = post(key=key, action="add", **params)
        assert "order" in answer, answer
        placed[name] = Order.objects.get(pk=answer["order"])
        assert placed[name].link == LINK
    assert placed["comments"].params["comments"] == "\n".join(COMMENTS)
    return Hostile(customer, key, placed["default"], placed["comments"], placed["usernames"])


def customer_pages(h: Hostile) -> dict[str, tuple[str, ...]]:
    """Each customer page that shows the hostile input: what it must show, escaped."""
    return {
        "/dashboard/": (LINK_SHOWN,),
        "/orders/": (LINK_SHOWN,),
        "/orders/?q=" + quote(LINK, safe=""): (LINK_SHOWN,),
        f"/orders/{h.default.pk}/": (LINK_SHOWN,),
        f"/orders/{h.comments.pk}/": (LINK_SHOWN, *COMMENTS_SHOWN),
        f"/orders/{h.usernames.pk}/": (LINK_SHOWN, *USERNAMES_SHOWN),
        "/transactions/": (),
    }


def operator_pages(h: Hostile) -> dict[str, tuple[str, ...]]:
    """Each page of the operator console that shows it (an order's page includes its events)."""
    return {
        "/admin/orders/order/": (),
        "/admin/orders/order/?q=" + quote(LINK, safe=""): (LINK_SHOWN,),
        f"/admin/orders/order/{h.default.pk}/change/": (LINK_SHOWN,),
        f"/admin/orders/order/{h.comments.pk}/change/": (LINK_SHOWN, *COMMENTS_SHOWN),
        f"/admin/orders/order/{h.usernames.pk}/change/": (LINK_SHOWN, *USERNAMES_SHOWN),
        "/admin/ledger/ledgerentry/": (),
        f"/admin/accounts/user/{h.customer.pk}/change/": (),
    }


def assert_inert(html: str, shown: tuple[str, ...], where: str) -> None:
    for fragment in RAW:
        assert fragment not in html, f"{where}: {fragment!r} is in the page unescaped"
    for fragment in shown:
        assert fragment in html, f"{where}: the escaped {fragment!r} is not in the page"


# With Django's test client: the HTML as served.


@pytest.fixture
def hostile(api: Any) -> Hostile:
    return seed("mallory", lambda **params: api.post("v2", **params))


@pytest.mark.django_db
def test_customer_pages_render_the_input_escaped(client: Client, hostile: Hostile) -> None:
    client.force_login(hostile.customer)
    for path, shown in customer_pages(hostile).items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), shown, path)


@pytest.mark.django_db
def test_operator_pages_render_the_input_escaped(admin_client: Client, hostile: Hostile) -> None:
    for path, shown in operator_pages(hostile).items():
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.content.decode(), shown, path)


def form_token(client: Client, path: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', client.get(path).content.decode())
    assert match, f"no form_token on {path}"
    return match.group(1)


@pytest.mark.django_db
def test_forms_that_echo_the_input_escape_it(client: Client, hostile: Hostile) -> None:
    client.force_login(hostile.customer)
    comments = Order.objects.get(pk=hostile.comments.pk).service
    default = Order.objects.get(pk=hostile.default.pk).service
    before = Order.objects.count()

    # A refused order form shows back what was typed, in the inputs and the textarea.
    refused = client.post(
        "/order/",
        {
            "service": comments.pk,
            "form_token": form_token(client, f"/order/?service={comments.pk}"),
            "link": LINK,
            "comments": COMMENTS[2],  # one comment: below the minimum of 2
        },
    )
    assert refused.status_code == 200
    assert_inert(refused.content.decode(), (LINK_SHOWN, COMMENTS_SHOWN[2]), "refused /order/")

    # Mass order: the results table shows each line as typed; the failed ones go back in the textarea.
    bad_line = f"{default.pk}|{LINK}|10"  # below the minimum of 50
    lines = f"{bad_line}\n</textarea><script>alert(7)</script>"
    mass = client.post("/order/mass/", {"orders": lines, "form_token": form_token(client, "/order/mass/")})
    assert mass.status_code == 200
    assert_inert(mass.content.decode(), (escape(bad_line), "&lt;/textarea&gt;&lt;script&gt;alert(7)"), "mass")
    assert Order.objects.count() == before, "nothing hostile was placed"


def test_no_template_or_admin_turns_escaping_off() -> None:
    """Escaping stays on: no |safe (but on developer help texts), autoescape off or mark_safe."""
    found = []
    for template in SMMPANEL.rglob("templates/**/*.html"):
        text = template.read_text()
        for match in re.finditer(r"\|safe\w*|autoescape off", text):
            line = text[: match.start()].count("\n") + 1
            context = text[max(0, match.start() - 40) : match.end()]
            if match.group() == "|safe" and context.endswith("help_text|safe"):
                continue  # form help texts are written by us, as Django's own form templates do
            found.append(f"{template.relative_to(SMMPANEL)}:{line}: {match.group()}")
    for module in SMMPANEL.rglob("*.py"):
        if "migrations" in module.parts:
            continue
        text = module.read_text()
        for match in re.finditer(r"\b(mark_safe|SafeString|SafeText)\b", text):
            found.append(f"{module.relative_to(SMMPANEL)}:{text[: match.start()].count(chr(10)) + 1}")
    assert not found, found


# In the browser, against the real server.


def check_page(tab: Tab, path: str, shown: tuple[str, ...], step: str) -> None:
    page = tab.page
    tab.go(path)
    # An <img onerror> or <svg onload> would have fired by the load event goto waits for.
    tab.shot(step)
    assert not tab.dialogs, f"{path}: a dialog opened: {tab.dialogs}"
    for selector in ("img[src=x]", "svg[onload]", "[onerror]", "[onload]"):
        assert page.locator(selector).count() == 0, f"{path}: {selector} is in the DOM"
    inline = page.locator('script:not([src]):not([type="application/json"])')
    assert inline.count() == 0, f"{path}: an inline script is in the DOM"
    for source in page.locator("script[src]").evaluate_all("scripts => scripts.map(s => s.src)"):
        assert source.startswith(tab.url("/")), f"{path}: a script from elsewhere: {source}"
    if shown:
        text = page.locator("body").inner_text() + " ".join(
            page.locator("input, textarea").evaluate_all("fields => fields.map(f => f.value)")
        )
        assert "<script>alert(1)</script>" in text, f"{path}: the link is not shown as text"
    assert not tab.csp_violations(), tab.csp_violations()


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_every_page_is_inert_in_the_browser(
    chromium: Browser,  # noqa: F811
    panel_server: str,  # noqa: F811
    shots: Shots,  # noqa: F811
) -> None:
    with httpx.Client(base_url=panel_server, timeout=10) as http:

        def post(**params: Any) -> Any:
            response = http.post("/api/v2", data=params)
            assert response.status_code == 200, response.text
            return response.json()

        hostile = seed("mallory", post)
    make_operator()

    customer = open_tab(chromium, panel_server, shots)
    try:
        customer.sign_in_as(hostile.customer)
        for n, (path, shown) in enumerate(customer_pages(hostile).items()):
            check_page(customer, path, shown, f"customer-{n}")
        customer.assert_clean()
    finally:
        customer.page.context.close()

    operator = open_tab(chromium, panel_server, shots)
    try:
        operator.admin_sign_in()
        for n, (path, shown) in enumerate(operator_pages(hostile).items()):
            check_page(operator, path, shown, f"operator-{n}")
        operator.assert_clean()
    finally:
        operator.page.context.close()
