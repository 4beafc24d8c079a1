"""The mass order page: one order a line (service ID, then its type's fields), each placed on its own."""

import html
import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from links import REFUSED_LINKS

from smmpanel.catalog import demo
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice.user)
    return client


def send(client, text: str, form_token: str | None = None):
    return client.post(reverse("order_mass"), {"orders": text, "form_token": form_token or str(uuid.uuid4())})


def rows(response) -> list[tuple[str, str, str, str]]:
    """(class, line number, line as typed, result text) of each row of the results table."""
    table = re.search(r'<table id="mass-results".*?</table>', response.content.decode(), re.S)
    assert table, "no results table"
    found = []
    for css, number, typed, result in re.findall(
        r'<tr class="(ok|failed)">\s*<td[^>]*>(\d+)</td>\s*'
        r"<td[^>]*><code>(.*?)</code></td>\s*<td[^>]*>(.*?)</td>",
        table.group(0),
        re.S,
    ):
        shown = html.unescape(re.sub(r"<[^>]+>", " ", result))
        found.append((css, number, html.unescape(typed), " ".join(shown.split())))
    return found


def summary(response) -> str:
    found = re.search(r'id="mass-summary"[^>]*>(.*?)</p>', response.content.decode(), re.S)
    assert found
    return " ".join(html.unescape(found.group(1)).split())


def test_the_page_renders(signed_in):
    response = signed_in.get(reverse("order_mass"))
    text = response.content.decode()
    assert response.status_code == 200
    assert 'id="id_orders"' in text and 'name="orders"' in text and 'id="place-mass"' in text
    assert 'id="mass-results"' not in text


def test_good_lines_are_placed_and_a_bad_one_costs_nothing(signed_in, alice, catalogue):
    default = catalogue.default.pk
    text = (
        f"{default}|instagram.com/p/a|1000\n\n"
        f"{default}|instagram.com/p/b|10\n"
        f"{default}|instagram.com/p/c|500\n"
    )
    response = send(signed_in, text)
    orders = list(Order.objects.order_by("id"))
    assert [o.link for o in orders] == ["https://instagram.com/p/a", "https://instagram.com/p/c"]
    assert all(o.source == Order.Source.WEB for o in orders)
    assert alice.balance() == Decimal("100") - Decimal("0.90") - Decimal("0.45")
    assert LedgerEntry.objects.filter(user=alice.user, kind=LedgerEntry.Kind.CHARGE).count() == 2
    assert rows(response) == [
        ("ok", "1", f"{default}|instagram.com/p/a|1000", f"Placed Order #{orders[0].pk} · 0.90 USD"),
        ("failed", "3", f"{default}|instagram.com/p/b|10", "Failed The minimum for this service is 50."),
        ("ok", "4", f"{default}|instagram.com/p/c|500", f"Placed Order #{orders[1].pk} · 0.45 USD"),
    ]
    assert summary(response) == "2 orders placed, 1 failed, total charged 1.35 USD"
    assert b'title="Balance">98.65 USD</a>' in response.content  # the top bar is up to date
    assert f'href="{reverse("order_detail", args=[orders[0].pk])}"' in response.content.decode()
    # The failed line is offered again, in a fresh form.
    box = re.search(r'<textarea name="orders"[^>]*>(.*?)</textarea>', response.content.decode(), re.S)
    assert box and box.group(1).strip() == f"{default}|instagram.com/p/b|10"


def test_each_kind_of_bad_line_says_why(signed_in, alice, catalogue):
    types = demo.seed()
    lines = [
        "just some text",
        f"{catalogue.default.pk}|instagram.com/p/a",
        f"{catalogue.disabled.pk}|instagram.com/p/a|5",
        "999999|instagram.com/p/a|100",
        f"{catalogue.default.pk}|javascript:alert(1)|100",
        f"{catalogue.default.pk}|instagram.com/p/a|lots",
        f"{catalogue.default.pk}|instagram.com/p/a|20000",
        f"{types['Subscriptions']}|ann|50|100",
        f"{types['Mentions with Hashtags']}|instagram.com/p/a|100|@ann",
    ]
    response = send(signed_in, "\n".join(lines))
    assert [result for _css, _n, _typed, result in rows(response)] == [
        "Failed Start the line with the service ID and a |, then write its service's fields (see below).",
        "Failed Write this service's lines as ID|link|quantity",
        "Failed This service is not available: choose another one.",
        "Failed This service is not available: choose another one.",
        "Failed Enter a full web address, such as https://instagram.com/p/abc.",
        "Failed Enter the quantity as a whole number, such as 1000.",
        "Failed The maximum for this service is 10000.",
        "Failed Subscriptions cannot be mass-ordered: use the order form.",
        "Failed Write this service's lines as ID|link|quantity|usernames|hashtags",
    ]
    assert not Order.objects.exists() and alice.balance() == Decimal("100")
    assert summary(response) == "0 orders placed, 9 failed, total charged 0.00 USD"


def test_links_with_format_characters_or_bad_ports_fail_and_cost_nothing(signed_in, alice, catalogue):
    lines = [f"{catalogue.default.pk}|{link}|100" for _name, link in REFUSED_LINKS]
    response = send(signed_in, "\n".join(lines))
    assert [(css, result) for css, _n, _typed, result in rows(response)] == [
        ("failed", "Failed Enter a full web address, such as https://instagram.com/p/abc.")
    ] * len(lines)
    assert not Order.objects.exists() and alice.balance() == Decimal("100")
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()
    assert summary(response) == f"0 orders placed, {len(lines)} failed, total charged 0.00 USD"


def test_a_package_line_is_one_package_with_or_without_a_quantity(signed_in, alice, catalogue):
    response = send(signed_in, f"{catalogue.package.pk}|instagram.com/p/a|1\n{catalogue.package.pk}|x.com/b")
    assert [r[0] for r in rows(response)] == ["ok", "ok"]
    assert [(o.link, o.charge) for o in Order.objects.order_by("id")] == [
        ("https://instagram.com/p/a", Decimal("4.50")),
        ("https://x.com/b", Decimal("4.50")),
    ]


# One line per type of the demo catalogue that a mass order takes: every type but subscriptions.
EVERY_TYPE = {
    "Default": ("x.com/1|100", {}),
    "Package": ("x.com/2", {}),
    "Custom Comments": ("x.com/3|Nice one; Love it;So good;Wow;Yes, really", {"comments": 5}),
    "Custom Comments Package": ("x.com/4|Great!;Super", {"comments": 2}),
    "Mentions": ("x.com/5|100|@ann; @bob", {"usernames": 2}),
    "Mentions with Hashtags": ("x.com/6|100|@ann;@bob|#sun;#sea", {"usernames": 2, "hashtags": 2}),
    "Mentions Custom List": ("x.com/7|" + ";".join(f"@u{n}" for n in range(10)), {"usernames": 10}),
    "Mentions Hashtag": ("x.com/8|100|#sunset", {"hashtag": "#sunset"}),
    "Mentions User Followers": ("x.com/9|100|ann", {"username": "ann"}),
    "Mentions Media Likers": (
        "x.com/10|100|https://instagram.com/p/xyz",
        {"media": "https://instagram.com/p/xyz"},
    ),
    "Comment Likes": ("x.com/11|20|ann", {"username": "ann"}),
    "Comment Replies": ("x.com/12|ann|a;b;c;d;e", {"username": "ann", "comments": 5}),
    "Poll": ("x.com/13|100|2", {"answer_number": "2"}),
    "Invites from Groups": ("x.com/14|100|t.me/a;t.me/b", {"groups": 2}),
    "SEO": ("x.com/15|1000|running shoes;trail shoes", {"keywords": 2}),
}


def test_every_type_whose_parameters_fit_a_line_is_placed_with_them(signed_in, alice):
    types = demo.seed()
    assert set(EVERY_TYPE) == set(types) - {"Subscriptions"}
    response = send(signed_in, "\n".join(f"{types[name]}|{rest}" for name, (rest, _p) in EVERY_TYPE.items()))
    assert [(r[1], r[0]) for r in rows(response)] == [(str(n), "ok") for n in range(1, len(EVERY_TYPE) + 1)]
    for name, (_rest, expected) in EVERY_TYPE.items():
        order = Order.objects.get(service_id=types[name])
        for param, value in expected.items():
            stored = order.params[param]
            if isinstance(value, int):  # a list: one item a line, trimmed
                assert len(stored.split("\n")) == value and stored == stored.strip(), (name, stored)
            else:
                assert stored == value, name
    comments = Order.objects.get(service_id=types["Custom Comments"])
    assert comments.params["comments"].split("\n")[-1] == "Yes, really"  # a comma is part of a comment
    assert comments.quantity == 5  # one unit a comment


def test_the_page_says_how_to_write_each_line_and_what_cannot_be_mass_ordered(signed_in, alice):
    types = demo.seed()
    text = html.unescape(signed_in.get(reverse("order_mass")).content.decode())
    table = re.search(r'id="mass-format-list".*?</dl>', text, re.S)
    assert table
    shown = re.findall(r"<dt>(.*?)</dt>\s*<dd><code>(.*?)</code>", table.group(0), re.S)
    assert len(shown) == len(EVERY_TYPE)
    assert ("Mentions with Hashtags", "ID|link|quantity|usernames|hashtags") in shown
    assert ("Poll", "ID|link|quantity|answer number") in shown
    assert f"{types['Custom Comments']}|https://instagram.com/p/abc|Great shot!;Love this" in table.group(0)
    assert "Subscriptions" not in [name for name, _line in shown]
    assert "Not in a mass order:" in text and "subscriptions, and drip-feed" in text
    spanish = html.unescape(signed_in.get(reverse("order_mass"), HTTP_ACCEPT_LANGUAGE="es").content.decode())
    assert "No en un pedido masivo:" in spanish
    assert "ID|enlace|cantidad|nombres de usuario|hashtags" in spanish


def test_a_link_may_hold_a_bar(signed_in, catalogue):
    send(signed_in, f"{catalogue.default.pk}|https://x.com/a|b|100")
    assert Order.objects.get().link == "https://x.com/a|b"


def test_no_funds_and_active_links_fail_their_line_only(client, bob, catalogue):
    client.force_login(bob.user)
    default = catalogue.default.pk
    response = send(client, f"{default}|x.com/1|5000\n{default}|x.com/2|5000\n{default}|x.com/1|100")
    assert [r[3] for r in rows(response)] == [
        f"Placed Order #{Order.objects.get(link='https://x.com/1').pk} · 4.50 USD",
        "Failed Your balance does not cover this order: add funds first.",
        "Failed You already have an unfinished order of this service for this link. "
        "You can order it again when that one ends.",
    ]
    assert bob.balance() == Decimal("0.50")


def test_a_resubmitted_form_places_nothing_twice(signed_in, alice, catalogue):
    text = f"{catalogue.default.pk}|x.com/1|100\n{catalogue.default.pk}|x.com/2|100"
    form_token = str(uuid.uuid4())
    send(signed_in, text, form_token)
    again = send(signed_in, text, form_token)
    assert Order.objects.count() == 2
    assert alice.balance() == Decimal("99.82")
    assert [r[0] for r in rows(again)] == ["ok", "ok"]
    assert "placed before" in again.content.decode()


def test_an_edited_resubmission_never_takes_one_lines_order_for_another(signed_in, alice, catalogue):
    default = catalogue.default.pk
    form_token = str(uuid.uuid4())
    send(signed_in, f"{default}|x.com/1|100\n{default}|x.com/2|100", form_token)
    # Line 1 now holds what was line 2, and a new line 2: neither is the first order.
    response = send(signed_in, f"{default}|x.com/2|100\n{default}|x.com/3|100", form_token)
    assert rows(response)[0][3].startswith("Failed You already have an unfinished order of this service")
    assert Order.objects.filter(link="https://x.com/3").exists()
    assert Order.objects.count() == 3


def test_more_than_500_lines_places_nothing(signed_in, alice, catalogue):
    text = "\n".join(f"{catalogue.default.pk}|x.com/{n}|100" for n in range(501))
    response = send(signed_in, text)
    assert b"At most 500 lines at a time: this has 501." in response.content
    assert b'id="mass-results"' not in response.content
    assert not Order.objects.exists()


def test_an_empty_form_or_one_without_its_token(signed_in, catalogue):
    assert b"Write at least one line." in send(signed_in, "\n  \n").content
    stale = signed_in.post(reverse("order_mass"), {"orders": f"{catalogue.default.pk}|x.com/1|100"})
    assert b"This form is out of date" in stale.content
    assert not Order.objects.exists()


def test_lines_are_shown_inert(signed_in, catalogue):
    line = f"{catalogue.default.pk}|<script>alert(1)</script>|\"'><img src=x onerror=alert(1)>"
    response = send(signed_in, line)
    text = response.content.decode()
    assert "<script>alert(1)</script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|&quot;&#x27;&gt;&lt;img src=x onerror=alert(1)&gt;" in text


def test_anonymous_visitors_are_sent_to_log_in(client, catalogue):
    response = send(client, f"{catalogue.default.pk}|x.com/1|100")
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert not Order.objects.exists()
