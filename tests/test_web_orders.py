"""The website's order pages: the order form and its live price, the orders list, an order's page.

The form validates as the API does (drafting.draft) and says so in the API's own words.
"""

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from links import ACCEPTED_LINKS, REFUSED_LINKS, link_params

from smmpanel.api import dialects
from smmpanel.catalog import demo
from smmpanel.catalog.models import Category, CustomRate, Service
from smmpanel.catalog.offers import offer
from smmpanel.engine import dripfeed
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders import drafting, placement, transitions
from smmpanel.orders.drafting import PlacementError
from smmpanel.orders.models import Order, OrderEvent, Refill
from smmpanel.orders.requests import OrderActionError
from smmpanel.web import errors

S = Order.Status
WHOLE_NUMBER = "Enter the quantity as a whole number, such as 1000."
RUNS = "For drip-feed, enter at least 2 runs and the minutes between them."
UNAVAILABLE = "This service is not available: choose another one."
LINK = "https://instagram.com/p/abc"
SCRIPT = "<script>alert(1)</script>"
QUOTES = "\"'><img src=x onerror=alert(1)>"


@pytest.fixture
def types(alice):
    """Service id by v2 type name: the demo catalogue has one of each."""
    return demo.seed()


@pytest.fixture
def signed_in(client, alice):
    client.force_login(alice.user)
    return client


def token() -> str:
    return str(uuid.uuid4())


def post_order(client, service, **fields):
    data = {"service": service, "form_token": token(), **fields}
    return client.post(reverse("order_new"), data)


def field_error(response, name: str) -> str:
    """The error shown under one field of the order form."""
    found = re.search(rf'id="id_{name}_error"[^>]*><li>(.*?)</li>', response.content.decode(), re.S)
    assert found, f"no error under {name}"
    return html.unescape(found.group(1))


def form_errors(response) -> str:
    found = re.search(r'id="order-errors"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    assert found, "no form error"
    return html.unescape(found.group(1))


def charge_box(response) -> tuple[str, str]:
    """(amount, error) of the charge fragment."""
    text = response.content.decode()
    amount = re.search(r'id="order-charge-amount">(.*?)</span>', text, re.S)
    error = re.search(r'id="order-charge-error">(.*?)</p>', text, re.S)
    assert 'id="order-charge"' in text
    return (amount.group(1).strip() if amount else "", html.unescape(error.group(1)) if error else "")


def service_options(response) -> list[int]:
    """The services offered in the service select."""
    select = response.content.decode().split('id="id_service"')[1].split("</select>")[0]
    return [int(n) for n in re.findall(r'<option value="(\d+)"', select)]


def place(customer, service_id: int, link: str = LINK, **params: str) -> Order:
    """An order placed the way the site places it."""
    terms = offer(customer.user.pk, service_id)
    assert terms is not None
    draft = drafting.draft(terms, {"link": link, "quantity": "100", **params})
    return Order.objects.get(pk=placement.place(customer.user.pk, draft, source=Order.Source.WEB))


def finish(order: Order, status: str = S.COMPLETED, remains: int | None = None) -> Order:
    """Move an order as the engine does: claimed, sent, finished."""
    now = timezone.now()
    assert transitions.claim(order.pk, now)
    assert transitions.sent(order.pk, f"up-{order.pk}", None, now)
    assert transitions.finish(order.pk, status, remains, now)
    order.refresh_from_db()
    return order


# --- Who sees what --------------------------------------------------------------


def test_every_page_renders_for_its_owner(signed_in, alice, catalogue):
    order = place(alice, catalogue.default.pk)
    for url in (
        reverse("order_new"),
        reverse("order_new") + f"?service={catalogue.package.pk}",
        reverse("order_mass"),
        reverse("orders"),
        reverse("order_detail", args=[order.pk]),
    ):
        response = signed_in.get(url)
        assert response.status_code == 200, url
        assert b'<html lang="en">' in response.content


@pytest.mark.parametrize(
    "name, method",
    [
        ("order_new", "get"),
        ("order_price", "post"),
        ("order_mass", "get"),
        ("orders", "get"),
        ("order_detail", "get"),
        ("order_refill", "post"),
        ("order_cancel", "post"),
    ],
)
def test_anonymous_visitors_are_sent_to_log_in(client, alice, catalogue, name, method):
    order = place(alice, catalogue.default.pk)
    url = reverse(name, args=[order.pk] if name in ("order_detail", "order_refill", "order_cancel") else [])
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_customer_never_sees_another_customers_order(client, alice, bob, catalogue):
    order = finish(place(alice, catalogue.default.pk))
    client.force_login(bob.user)
    assert client.get(reverse("order_detail", args=[order.pk])).status_code == 404
    assert client.post(reverse("order_refill", args=[order.pk])).status_code == 404
    assert client.post(reverse("order_cancel", args=[order.pk])).status_code == 404
    assert not Refill.objects.exists()
    listing = client.get(reverse("orders"), {"q": str(order.pk)})
    assert f'data-order="{order.pk}"'.encode() not in listing.content


def test_refill_and_cancel_take_only_post(signed_in, alice, catalogue):
    order = place(alice, catalogue.default.pk)
    assert signed_in.get(reverse("order_refill", args=[order.pk])).status_code == 405
    assert signed_in.get(reverse("order_cancel", args=[order.pk])).status_code == 405


def test_pages_follow_the_browser_language(signed_in):
    response = signed_in.get(reverse("orders"), HTTP_ACCEPT_LANGUAGE="es")
    assert b'<html lang="es">' in response.content
    assert response["Content-Language"] == "es"


# --- The order form -------------------------------------------------------------


def test_the_form_shows_exactly_the_fields_of_each_type(signed_in, types):
    expected = {
        "Default": {"link", "quantity"},
        "Package": {"link"},
        "Custom Comments": {"link", "comments"},
        "Custom Comments Package": {"link", "comments"},
        "Mentions": {"link", "quantity", "usernames"},
        "Mentions with Hashtags": {"link", "quantity", "usernames", "hashtags"},
        "Mentions Custom List": {"link", "usernames"},
        "Mentions Hashtag": {"link", "quantity", "hashtag"},
        "Mentions User Followers": {"link", "quantity", "username"},
        "Mentions Media Likers": {"link", "quantity", "media"},
        "Comment Likes": {"link", "quantity", "username"},
        "Comment Replies": {"link", "username", "comments"},
        "Poll": {"link", "quantity", "answer_number"},
        "Invites from Groups": {"link", "quantity", "groups"},
        "SEO": {"link", "quantity", "keywords"},
        "Subscriptions": {"username", "min", "max", "posts", "old_posts", "delay", "expiry"},
    }
    every = set().union(*expected.values()) | {"dripfeed", "runs", "interval"}
    for type_name, fields in expected.items():
        response = signed_in.get(reverse("order_new"), {"service": types[type_name]})
        form = re.search(r'<form id="order-form".*?</form>', response.content.decode(), re.S)
        assert form, type_name
        names = set(re.findall(r'name="([a-z_]+)"', form.group(0))) & every
        if type_name == "Default":
            fields = fields | {"dripfeed", "runs", "interval"}  # the demo Default has drip-feed
        assert names == fields, type_name
    comments = signed_in.get(reverse("order_new"), {"service": types["Custom Comments"]})
    assert b'<textarea name="comments"' in comments.content


def test_the_drip_feed_box_shows_only_for_services_with_drip_feed(signed_in, catalogue):
    with_it = signed_in.get(reverse("order_new"), {"service": catalogue.default.pk})
    assert b'id="id_dripfeed"' in with_it.content and b'name="runs"' in with_it.content
    Service.objects.filter(pk=catalogue.default.pk).update(dripfeed=False)
    without = signed_in.get(reverse("order_new"), {"service": catalogue.default.pk})
    assert b'id="id_dripfeed"' not in without.content and b'name="runs"' not in without.content


def test_the_service_shows_its_description_limits_and_the_customers_own_price(signed_in, alice, catalogue):
    CustomRate.objects.create(user=alice.user, service=catalogue.default, rate=Decimal("0.75"))
    response = signed_in.get(reverse("order_new"), {"service": catalogue.default.pk})
    text = response.content.decode()
    assert "Real-looking" in text
    assert 'id="service-rate">0.75 USD<' in text
    assert 'id="service-min">50<' in text and 'id="service-max">10000<' in text
    price = signed_in.post(reverse("order_price"), {"service": catalogue.default.pk, "quantity": "1000"})
    assert charge_box(price) == ("0.75 USD", "")


def test_choosing_a_category_lists_its_services(signed_in, catalogue):
    packs = catalogue.package.category
    response = signed_in.get(reverse("order_new"), {"category": packs.pk})
    assert f'<option value="{catalogue.package.pk}" selected>'.encode() in response.content
    assert service_options(response) == [catalogue.package.pk]
    # A service of another category (the form sent without JavaScript): the category wins.
    response = signed_in.get(reverse("order_new"), {"category": packs.pk, "service": catalogue.default.pk})
    assert f'name="service" value="{catalogue.package.pk}"'.encode() in response.content


def test_the_search_finds_services_in_every_category(signed_in, types):
    response = signed_in.get(reverse("order_new"), {"search": "mentions"})
    found = set(service_options(response))
    assert found == {types[name] for name in types if name.startswith("Mentions")}
    assert b'<optgroup label="Instagram Mentions">' in response.content
    by_id = signed_in.get(reverse("order_new"), {"search": str(types["Poll"])})
    assert f'name="service" value="{types["Poll"]}"'.encode() in by_id.content
    nothing = signed_in.get(reverse("order_new"), {"search": "no such thing"})
    assert b'id="no-service"' in nothing.content and b'id="order-form"' not in nothing.content


def test_htmx_gets_only_the_service_part(signed_in, catalogue):
    response = signed_in.get(reverse("order_new"), {"service": catalogue.package.pk}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.startswith('<div id="order-choice">')
    assert "<html" not in text and 'id="order-form"' in text
    assert "HX-Request" in response["Vary"]


def test_disabled_or_unknown_services_are_incorrect(signed_in, catalogue):
    for service in (catalogue.disabled.pk, 999999, "abc"):
        response = post_order(signed_in, service, link=LINK, quantity="5")
        assert response.status_code == 200
        assert b"This service is not available: choose another one." in response.content
        shown = signed_in.get(reverse("order_new"), {"service": service})
        assert b"This service is not available: choose another one." in shown.content
    Category.objects.filter(pk=catalogue.default.category_id).update(enabled=False)
    response = post_order(signed_in, catalogue.default.pk, link=LINK, quantity="100")
    assert b"This service is not available: choose another one." in response.content
    assert not Order.objects.exists()


# --- Validation: the API's rules, the site's own words ---------------------------


def test_every_error_the_site_can_show_has_its_own_words_not_the_apis():
    values = {PlacementError.MISSING: "link", PlacementError.BELOW_MIN: 50, PlacementError.ABOVE_MAX: 10000}
    values[PlacementError.BAD_PARAMETER] = "answer_number"
    codes = {value for name, value in vars(PlacementError).items() if name.isupper()}
    assert codes == set(errors.PLACEMENT)
    for code in codes:
        value = values.get(code)
        shown = errors.placement_message(PlacementError(code, value))
        for dialect in (dialects._V1, dialects._V2):
            assert shown != dialect[code].format(value), code
        with translation.override("es"):
            spanish = errors.placement_message(PlacementError(code, value))
        assert spanish != shown, f"{code} is not in Spanish"
    for code in (OrderActionError.BAD_ORDER, OrderActionError.NO_REFILL, OrderActionError.NO_CANCEL):
        shown = errors.action_message(OrderActionError(code))
        assert shown not in (dialects._V1[code], dialects._V2[code]), code
        with translation.override("es"):
            assert errors.action_message(OrderActionError(code)) != shown, f"{code} is not in Spanish"


def test_a_missing_or_bad_parameter_is_named_as_its_field_reads():
    missing = PlacementError(PlacementError.MISSING, "answer_number")
    assert errors.placement_message(missing) == "Fill in the answer number."
    bad = PlacementError(PlacementError.BAD_PARAMETER, "media")
    assert errors.placement_message(bad) == "Check the media link: it cannot be used as written."
    with translation.override("es"):
        assert errors.placement_message(missing) == "Completa el campo «número de respuesta»."


@pytest.mark.parametrize(
    "language, below, active, funds",
    [
        (
            "en",
            "The minimum for this service is 50.",
            "You already have an unfinished order of this service for this link.",
            "Your balance does not cover this order: add funds first.",
        ),
        (
            "es",
            "El mínimo de este servicio es 50.",
            "Ya tienes un pedido sin terminar de este servicio para este enlace.",
            "Tu saldo no cubre este pedido: añade fondos primero.",
        ),
    ],
)
def test_the_site_speaks_plainly_while_the_api_keeps_its_strings(
    client, api, bob, catalogue, language, below, active, funds
):
    client.force_login(bob.user)  # bob has 5.00: 0.90 per 1000 buys at most 5555
    ask = {"service": catalogue.default.pk, "link": LINK}

    def on_site(**fields):
        data = {**ask, "form_token": token(), **fields}
        return form_text(client.post(reverse("order_new"), data, HTTP_ACCEPT_LANGUAGE=language))

    def by_api(dialect, **fields):
        return api.post(dialect, key=bob.key, action="add", **ask, **fields)["error"]

    assert below in on_site(quantity="10")
    assert by_api("v2", quantity="10") == "Quantity less than minimal 50"
    assert by_api("v1", quantity="10") == "Quantity must to be greater than or equal to minimum amount 50"
    assert funds in on_site(quantity="9000")
    assert by_api("v2", quantity="9000") == by_api("v1", quantity="9000") == "Not enough funds on balance"
    assert Order.objects.get(pk=placement.place(bob.user.pk, draft_of(catalogue, bob))).link == LINK
    assert active in on_site(quantity="100")
    assert (
        by_api("v2", quantity="100")
        == by_api("v1", quantity="100")
        == "You have active order with this link. Please wait until order being completed."
    )


def draft_of(catalogue, customer):
    terms = offer(customer.user.pk, catalogue.default.pk)
    assert terms is not None
    return drafting.draft(terms, {"link": LINK, "quantity": "100"})


def form_text(response) -> str:
    """Every error the order form shows, fields and form alike."""
    assert response.status_code == 200
    found = re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S)
    return html.unescape(" ".join(found))


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"quantity": "100"}, "link", "Fill in the link."),
        (
            {"link": "javascript:alert(1)", "quantity": "100"},
            "link",
            "Enter a full web address, such as https://instagram.com/p/abc.",
        ),
        ({"link": LINK, "quantity": "10"}, "quantity", "The minimum for this service is 50."),
        ({"link": LINK, "quantity": "10001"}, "quantity", "The maximum for this service is 10000."),
        ({"link": LINK, "quantity": "12.5"}, "quantity", WHOLE_NUMBER),
        ({"link": LINK, "quantity": "-3"}, "quantity", WHOLE_NUMBER),
        ({"link": LINK}, "quantity", "Fill in the quantity."),
        (
            {"link": LINK, "quantity": "100", "dripfeed": "on", "runs": "1", "interval": "5"},
            "runs",
            "For drip-feed, enter at least 2 runs and the minutes between them.",
        ),
        (
            {"link": LINK, "quantity": "100", "dripfeed": "on", "runs": "3", "interval": "x"},
            "runs",
            "For drip-feed, enter at least 2 runs and the minutes between them.",
        ),
        ({"link": LINK, "quantity": "100", "dripfeed": "on"}, "runs", RUNS),
    ],
)
def test_each_mistake_is_shown_next_to_its_field(signed_in, catalogue, fields, field, message):
    response = post_order(signed_in, catalogue.default.pk, **fields)
    assert response.status_code == 200
    assert field_error(response, field) == message
    assert not Order.objects.exists()


@pytest.mark.parametrize("link", link_params(REFUSED_LINKS))
def test_a_link_with_format_characters_or_a_bad_port_is_incorrect(signed_in, alice, catalogue, link):
    response = post_order(signed_in, catalogue.default.pk, link=link, quantity="100")
    assert response.status_code == 200
    assert field_error(response, "link") == "Enter a full web address, such as https://instagram.com/p/abc."
    assert not Order.objects.exists()
    assert alice.balance() == Decimal("100")
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGE).exists()


@pytest.mark.parametrize("link", link_params(ACCEPTED_LINKS))
def test_a_link_with_a_valid_port_or_non_latin_text_is_placed(signed_in, alice, catalogue, link):
    response = post_order(signed_in, catalogue.default.pk, link=link, quantity="100")
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Order.objects.get().link.endswith(link.split("://")[-1])


def test_runs_and_interval_count_only_when_drip_feed_is_ticked(signed_in, alice, catalogue):
    # Without JavaScript they are always on the page; left filled in, they are ignored.
    response = post_order(signed_in, catalogue.default.pk, link=LINK, quantity="100", runs="3", interval="5")
    order = Order.objects.get()
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert order.kind == Order.Kind.SINGLE and order.charge == Decimal("0.09")


def test_drip_feed_is_refused_on_a_service_without_it(signed_in, catalogue):
    Service.objects.filter(pk=catalogue.default.pk).update(dripfeed=False)
    response = post_order(
        signed_in, catalogue.default.pk, link=LINK, quantity="100", dripfeed="on", runs="3", interval="5"
    )
    assert "This service does not offer drip-feed." in form_errors(response)
    assert not Order.objects.exists()


def test_missing_comments(signed_in, types):
    response = post_order(signed_in, types["Custom Comments"], link=LINK, comments="\n \n")
    assert field_error(response, "comments") == "Fill in the comments."
    fewer = post_order(signed_in, types["Custom Comments"], link=LINK, comments="one\ntwo")
    assert field_error(fewer, "comments") == "The minimum for this service is 5."


def test_bad_poll_answer(signed_in, types):
    response = post_order(signed_in, types["Poll"], link=LINK, quantity="100", answer_number="first")
    assert field_error(response, "answer_number") == "Check the answer number: it cannot be used as written."


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "natgeo", "min": "500", "max": "100"},
        {"username": "natgeo", "min": "10", "max": "100"},
        {"username": "natgeo", "min": "100", "max": "200", "delay": "7"},
        {"username": "natgeo", "min": "100", "max": "200", "expiry": "2001-01-01"},
    ],
)
def test_bad_subscription(signed_in, types, fields):
    response = post_order(signed_in, types["Subscriptions"], **fields)
    assert "Check the subscription:" in form_errors(response)
    assert not Order.objects.exists()


def test_a_subscription_is_placed_with_its_expiry_from_the_date_input(signed_in, alice, types):
    expiry = timezone.localdate() + timedelta(days=30)
    response = post_order(
        signed_in,
        types["Subscriptions"],
        username="natgeo",
        min="100",
        max="200",
        posts="5",
        delay="30",
        expiry=expiry.isoformat(),
    )
    order = Order.objects.get()
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert order.kind == Order.Kind.SUBSCRIPTION and order.charge == 0
    assert order.params["expiry"] == expiry.isoformat() and order.params["delay"] == 30
    assert alice.balance() == Decimal("100")


def test_not_enough_funds_is_a_form_error_and_the_charge_is_shown(client, bob, catalogue):
    client.force_login(bob.user)
    response = post_order(client, catalogue.default.pk, link=LINK, quantity="10000")
    assert "Your balance does not cover this order: add funds first." in form_errors(response)
    assert charge_box(response) == ("9.00 USD", "")
    assert not Order.objects.exists() and bob.balance() == Decimal("5")


def test_an_active_order_for_the_same_link_is_a_form_error(signed_in, alice, catalogue):
    place(alice, catalogue.default.pk)
    response = post_order(signed_in, catalogue.default.pk, link=LINK, quantity="100")
    assert "You already have an unfinished order of this service for this link" in form_errors(response)
    assert Order.objects.count() == 1


def test_a_form_without_its_token_places_nothing(signed_in, catalogue):
    data = {"service": catalogue.default.pk, "link": LINK, "quantity": "100", "form_token": "nope"}
    response = signed_in.post(reverse("order_new"), data)
    assert "This form is out of date" in form_errors(response)
    assert not Order.objects.exists()
    fresh = re.search(r'name="form_token" value="([^"]+)"', response.content.decode())
    assert fresh and uuid.UUID(fresh.group(1))


# --- The live price -------------------------------------------------------------


def price(client, service, **fields):
    return client.post(reverse("order_price"), {"service": service, **fields})


def test_the_live_price_of_each_kind_of_order(signed_in, catalogue, types):
    assert charge_box(price(signed_in, catalogue.default.pk, link=LINK, quantity="1000")) == ("0.90 USD", "")
    # The price shows before the link is typed: it does not depend on it.
    assert charge_box(price(signed_in, catalogue.default.pk, quantity="1500")) == ("1.35 USD", "")
    dripped = price(signed_in, catalogue.default.pk, quantity="1000", dripfeed="on", runs="3", interval="10")
    assert charge_box(dripped) == ("2.70 USD", "")
    assert "1000 × 3 runs = 3000" in dripped.content.decode()
    # Runs typed but the box not ticked: a single delivery.
    assert charge_box(price(signed_in, catalogue.default.pk, quantity="1000", runs="3", interval="10"))[
        0
    ] == ("0.90 USD")
    assert charge_box(price(signed_in, catalogue.package.pk)) == ("4.50 USD", "")
    comments = price(signed_in, types["Custom Comments"], comments="a\nb\n\nc\nd\ne\nf")
    assert charge_box(comments) == ("0.072 USD", "")  # 6 lines at 12.00 per 1000
    assert charge_box(price(signed_in, types["Custom Comments Package"], comments="a\nb")) == ("2.50 USD", "")


def test_the_live_price_of_a_subscription_is_per_post(signed_in, types):
    response = price(signed_in, types["Subscriptions"], username="natgeo", min="100", max="1000")
    assert charge_box(response) == ("0.60 USD", "")  # at most 1000 × 0.60 / 1000 a post
    assert "Charged per post" in response.content.decode()


def test_the_live_price_shows_the_first_mistake_instead(signed_in, catalogue):
    assert charge_box(price(signed_in, catalogue.default.pk, quantity="10")) == (
        "",
        "The minimum for this service is 50.",
    )
    assert charge_box(price(signed_in, catalogue.default.pk, link="javascript:x", quantity="100")) == (
        "",
        "Enter a full web address, such as https://instagram.com/p/abc.",
    )
    assert charge_box(price(signed_in, catalogue.default.pk)) == ("", "Fill in the quantity.")
    assert charge_box(price(signed_in, catalogue.disabled.pk, quantity="5")) == ("", UNAVAILABLE)


def test_the_live_price_warns_when_the_balance_is_short(client, bob, catalogue):
    client.force_login(bob.user)
    response = price(client, catalogue.default.pk, quantity="10000")
    assert charge_box(response) == ("9.00 USD", "")
    assert b'id="order-charge-funds"' in response.content


def test_the_live_price_is_wired_to_the_form(signed_in, catalogue):
    text = signed_in.get(reverse("order_new"), {"service": catalogue.default.pk}).content.decode()
    form = re.search(r'<form id="order-form"[^>]*>', text, re.S)
    assert form
    assert f'hx-post="{reverse("order_price")}"' in form.group(0)
    assert 'hx-trigger="input changed delay:250ms, change"' in form.group(0)
    assert 'id="order-charge"' in text and 'id="place-order"' in text


# --- Placing --------------------------------------------------------------------


def test_placing_an_order_charges_the_ledger_once(signed_in, alice, catalogue):
    response = post_order(signed_in, catalogue.default.pk, link=LINK, quantity="1000")
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert order.source == Order.Source.WEB and order.user == alice.user
    assert order.link == LINK and order.quantity == 1000 and order.charge == Decimal("0.90")
    entry = LedgerEntry.objects.get(user=alice.user, kind=LedgerEntry.Kind.CHARGE)
    assert entry.order == order and entry.amount == Decimal("-0.90") and entry.kind == LedgerEntry.Kind.CHARGE
    assert alice.balance() == Decimal("99.10")
    page = signed_in.get(response["Location"])
    assert f"Order #{order.pk} is placed.".encode() in page.content


def test_a_drip_feed_order_is_charged_for_every_run(signed_in, alice, catalogue):
    post_order(
        signed_in, catalogue.default.pk, link=LINK, quantity="1000", dripfeed="on", runs="3", interval="10"
    )
    order = Order.objects.get()
    assert order.kind == Order.Kind.DRIPFEED and order.runs == 3 and order.interval_minutes == 10
    assert alice.balance() == Decimal("97.30")


def test_each_type_is_placed_with_its_parameters(signed_in, alice, types):
    post_order(signed_in, types["Comment Replies"], link=LINK, username="ann", comments="a\nb\nc\nd\ne")
    order = Order.objects.get()
    assert order.params == {"username": "ann", "comments": "a\nb\nc\nd\ne"}
    assert order.charge == Decimal("0.075")


def test_a_double_submit_places_one_order(signed_in, alice, catalogue):
    data = {"service": catalogue.default.pk, "form_token": token(), "link": LINK, "quantity": "1000"}
    first = signed_in.post(reverse("order_new"), data)
    second = signed_in.post(reverse("order_new"), data)
    order = Order.objects.get()
    assert first["Location"] == second["Location"] == reverse("order_detail", args=[order.pk])
    assert LedgerEntry.objects.filter(user=alice.user, kind=LedgerEntry.Kind.CHARGE).count() == 1
    assert alice.balance() == Decimal("99.10")


def test_a_failed_submit_keeps_its_token_so_the_corrected_one_still_places_once(signed_in, alice, catalogue):
    data = {"service": catalogue.default.pk, "form_token": token(), "link": LINK, "quantity": "10"}
    failed = signed_in.post(reverse("order_new"), data)
    assert f'name="form_token" value="{data["form_token"]}"'.encode() in failed.content
    data["quantity"] = "100"
    signed_in.post(reverse("order_new"), data)
    signed_in.post(reverse("order_new"), data)
    assert Order.objects.count() == 1 and alice.balance() == Decimal("99.91")


# --- The orders list --------------------------------------------------------------


def listed(response) -> list[int]:
    return [int(n) for n in re.findall(r'data-order="(\d+)"', response.content.decode())]


def test_the_list_shows_top_level_orders_newest_first(signed_in, alice, bob, catalogue, clock):
    single = place(alice, catalogue.default.pk, link="a.com/1")
    parent = place(alice, catalogue.default.pk, link="a.com/2", runs="2", interval="5")
    dripfeed.release_runs(clock())
    place(bob, catalogue.default.pk, link="a.com/3")
    assert Order.objects.filter(parent=parent).count() == 1
    assert listed(signed_in.get(reverse("orders"))) == [parent.pk, single.pk]


def test_the_list_filters_by_status(signed_in, alice, catalogue):
    done = finish(place(alice, catalogue.default.pk, link="a.com/1"))
    running = place(alice, catalogue.default.pk, link="a.com/2")
    assert listed(signed_in.get(reverse("orders"), {"status": "completed"})) == [done.pk]
    assert listed(signed_in.get(reverse("orders"), {"status": "pending"})) == [running.pk]
    assert listed(signed_in.get(reverse("orders"), {"status": "canceled"})) == []
    assert listed(signed_in.get(reverse("orders"), {"status": "bogus"})) == [running.pk, done.pk]
    tabs = signed_in.get(reverse("orders"), {"status": "completed"}).content.decode()
    assert re.search(r'aria-current="page" data-status="completed"', tabs)
    assert 'data-status="subscriptions"' not in tabs


def test_subscriptions_get_a_tab_once_there_are_some(signed_in, alice, types):
    post_order(signed_in, types["Subscriptions"], username="natgeo", min="100", max="200")
    sub = Order.objects.get()
    response = signed_in.get(reverse("orders"), {"status": "subscriptions"})
    assert 'data-status="subscriptions"' in response.content.decode()
    assert listed(response) == [sub.pk]


def test_the_list_searches_by_id_and_link(signed_in, alice, catalogue):
    first = place(alice, catalogue.default.pk, link="instagram.com/p/cats")
    second = place(alice, catalogue.default.pk, link="instagram.com/p/dogs")
    assert listed(signed_in.get(reverse("orders"), {"q": "DOGS"})) == [second.pk]
    assert listed(signed_in.get(reverse("orders"), {"q": str(first.pk)})) == [first.pk]
    assert listed(signed_in.get(reverse("orders"), {"q": f"#{first.pk}"})) == [first.pk]
    assert listed(signed_in.get(reverse("orders"), {"q": "instagram"})) == [second.pk, first.pk]
    assert b"No order matches." in signed_in.get(reverse("orders"), {"q": "zebra"}).content


def test_the_list_paginates_and_keeps_the_filters(signed_in, alice, catalogue):
    ids = [place(alice, catalogue.default.pk, link=f"x.com/p/{n}").pk for n in range(30)]
    first = signed_in.get(reverse("orders"), {"status": "pending", "q": "x.com"})
    assert listed(first) == ids[::-1][:25]
    next_link = re.search(r'rel="next" href="([^"]+)"', first.content.decode())
    assert next_link
    query = html.unescape(next_link.group(1))
    assert "status=pending" in query and "q=x.com" in query and "page=2" in query
    second = signed_in.get(reverse("orders") + query)
    assert listed(second) == ids[::-1][25:]
    assert listed(signed_in.get(reverse("orders"), {"page": "99"})) == ids[::-1][25:]


def test_the_list_shows_times_in_the_customers_time_zone(signed_in, alice, catalogue):
    order = place(alice, catalogue.default.pk)
    Order.objects.filter(pk=order.pk).update(created_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    alice.user.timezone = "America/Bogota"
    alice.user.save(update_fields=["timezone"])
    response = signed_in.get(reverse("orders"))
    assert b'datetime="2026-01-15T07:00:00-05:00"' in response.content


def test_the_list_columns(signed_in, alice, catalogue):
    order = finish(place(alice, catalogue.default.pk), S.PARTIAL, 40)
    text = signed_in.get(reverse("orders")).content.decode()
    row = re.search(rf'<tr data-order="{order.pk}">.*?</tr>', text, re.S)
    assert row
    cells = row.group(0)
    for shown in ("Followers", LINK, ">100<", "0.09 USD", ">40<", 'data-status="partial"', ">Partial<"):
        assert shown in cells, shown


# --- One order --------------------------------------------------------------------


def test_the_detail_shows_the_order_and_its_history(signed_in, alice, catalogue):
    order = finish(place(alice, catalogue.default.pk), S.PARTIAL, 40)
    text = signed_in.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert '<span class="badge partial" id="order-status" data-status="partial">Partial</span>' in text
    assert LINK in text and 'id="order-remains">40<' in text
    history = re.search(r'id="order-events".*?</ol>', text, re.S)
    assert history
    labels = re.findall(r'class="event">([^<]+)<', history.group(0))
    assert labels == ["Finished", "Delivery started", "Order placed"]  # newest first


def history_lines(text: str) -> list[str]:
    """The order's history as read, newest first, without the times."""
    found = re.search(r'id="order-events".*?</ol>', text, re.S)
    assert found
    items = re.findall(r"<li>.*?</time>(.*?)</li>", found.group(0), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", item)).split()) for item in items]


def test_each_progress_line_says_what_remains_and_a_partial_order_its_refund(signed_in, alice, catalogue):
    order = place(alice, catalogue.default.pk, quantity="300")  # 0.27 at 0.90 per 1000
    now = timezone.now()
    assert transitions.claim(order.pk, now) and transitions.sent(order.pk, "up-1", None, now)
    for remains in (200, 100):
        assert transitions.progress(order.pk, transitions.OperatorProgress(S.IN_PROGRESS, 1200, remains), now)
    assert transitions.finish(order.pk, S.PARTIAL, 30, now)
    text = signed_in.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert history_lines(text) == [
        "Finished: Partial · remains 30 · start count 1,200 · 0.027 USD refunded",
        "Progress: In progress · remains 100 · start count 1,200",
        "Progress: In progress · remains 200 · start count 1,200",
        "Delivery started",
        "Order placed",
    ]
    assert 'id="order-refunded">0.027 USD<' in text  # 0.27 x 30 / 300
    spanish = signed_in.get(reverse("order_detail", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="es")
    assert "Avance: En curso · restan 100 · recuento inicial 1 200" in history_lines(spanish.content.decode())


def test_a_canceled_order_shows_its_full_refund_and_a_completed_one_no_refund_line(
    signed_in, alice, catalogue
):
    canceled = finish(place(alice, catalogue.default.pk), S.CANCELED)
    text = signed_in.get(reverse("order_detail", args=[canceled.pk])).content.decode()
    assert 'id="order-refunded">0.09 USD<' in text
    assert history_lines(text)[0] == "Finished: Canceled · remains 100 · 0.09 USD refunded"
    completed = finish(place(alice, catalogue.default.pk, link="https://x.com/2"))
    text = signed_in.get(reverse("order_detail", args=[completed.pk])).content.decode()
    assert 'id="order-refunded"' not in text
    assert history_lines(text)[0] == "Finished: Completed · remains 0"


def test_the_detail_shows_type_specific_parameters(signed_in, alice, types):
    post_order(
        signed_in,
        types["Mentions with Hashtags"],
        link=LINK,
        quantity="100",
        usernames="ann\nbob",
        hashtags="#a\n#b",
    )
    order = Order.objects.get()
    text = signed_in.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "<dt>Usernames</dt>" in text and "ann\nbob\n" in text and "<dt>Hashtags</dt>" in text


def test_the_detail_of_a_drip_feed_lists_its_runs(signed_in, alice, catalogue, clock):
    parent = place(alice, catalogue.default.pk, runs="3", interval="5")
    dripfeed.release_runs(clock())
    run = Order.objects.get(parent=parent)
    text = signed_in.get(reverse("order_detail", args=[parent.pk])).content.decode()
    assert "Runs: 1 of 3" in text
    assert f'href="{reverse("order_detail", args=[run.pk])}"' in text
    assert "Run started" in text
    child = signed_in.get(reverse("order_detail", args=[run.pk])).content.decode()
    assert "A run of drip-feed order" in child and f"#{parent.pk}" in child


def test_the_detail_of_a_subscription_lists_its_posts(signed_in, alice, types):
    post_order(signed_in, types["Subscriptions"], username="natgeo", min="100", max="200", posts="4")
    sub = Order.objects.get()
    now = timezone.now()
    post = Order.objects.create(
        user=alice.user,
        service_id=sub.service_id,
        parent=sub,
        kind=Order.Kind.POST,
        link="https://x.com/p/1",
        quantity=150,
        charge=Decimal("0.09"),
        remains=150,
        created_at=now,
        updated_at=now,
    )
    text = signed_in.get(reverse("order_detail", args=[sub.pk])).content.decode()
    assert '<h2 id="order-children">Posts</h2>' in text
    assert f'href="{reverse("order_detail", args=[post.pk])}"' in text
    assert "natgeo" in text and "<dt>New posts</dt>" in text and 'data-status="active"' in text


def test_an_unfinished_order_refreshes_itself_and_a_finished_one_stops(signed_in, alice, catalogue):
    order = place(alice, catalogue.default.pk)
    url = reverse("order_detail", args=[order.pk])
    page = signed_in.get(url).content.decode()
    assert f'<div id="order-live" hx-get="{url}" hx-trigger="every 5s"' in page
    fragment = signed_in.get(url, HTTP_HX_REQUEST="true")
    assert fragment.content.decode().startswith('<div id="order-live" hx-get')
    assert b"<html" not in fragment.content
    finish(order)
    done = signed_in.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert done.startswith('<div id="order-live">') and 'data-status="completed"' in done


# --- Refill and cancel --------------------------------------------------------------


def buttons(client, order: Order) -> set[str]:
    text = client.get(reverse("order_detail", args=[order.pk])).content.decode()
    return set(re.findall(r'id="(refill-button|cancel-button|cancel-requested)"', text))


def test_the_buttons_show_exactly_when_allowed(signed_in, alice, catalogue):
    running = place(alice, catalogue.default.pk, link="a.com/1")
    assert buttons(signed_in, running) == {"cancel-button"}
    done = finish(place(alice, catalogue.default.pk, link="a.com/2"))
    assert buttons(signed_in, done) == {"refill-button"}
    canceled = finish(place(alice, catalogue.default.pk, link="a.com/3"), S.CANCELED)
    assert buttons(signed_in, canceled) == set()
    partial = finish(place(alice, catalogue.default.pk, link="a.com/5"), S.PARTIAL, 10)
    assert buttons(signed_in, partial) == {"refill-button"}
    Order.objects.filter(pk=done.pk).update(finished_at=timezone.now() - timedelta(days=31))
    assert buttons(signed_in, done) == set()  # past the refill window
    Service.objects.filter(pk=catalogue.default.pk).update(refill=False, cancel=False)
    assert buttons(signed_in, running) == set()
    package = place(alice, catalogue.package.pk, link="a.com/4")
    assert buttons(signed_in, package) == set()


def test_a_refill_is_requested_once(signed_in, alice, catalogue):
    done = finish(place(alice, catalogue.default.pk))
    response = signed_in.post(reverse("order_refill", args=[done.pk]), follow=True)
    refill = Refill.objects.get(order=done)
    assert refill.status == Refill.Status.PENDING
    text = response.content.decode()
    assert "Refill requested." in text and 'id="refills-table"' in text and "Refill requested</span>" in text
    assert 'id="refill-button"' not in text  # one refill open at a time
    again = signed_in.post(reverse("order_refill", args=[done.pk]), follow=True)
    assert b"This order cannot be refilled now." in again.content
    assert Refill.objects.count() == 1


def test_a_cancel_is_requested_and_then_shown_as_requested(signed_in, alice, catalogue):
    running = place(alice, catalogue.default.pk)
    response = signed_in.post(reverse("order_cancel", args=[running.pk]), follow=True)
    running.refresh_from_db()
    assert running.cancel_requested_at is not None
    assert OrderEvent.objects.filter(order=running, kind="cancel_requested").exists()
    assert b"Cancel requested: whatever is not delivered is refunded." in response.content
    assert buttons(signed_in, running) == {"cancel-requested"}
    assert alice.balance() == Decimal("99.91")  # the refund waits for the order to end


def test_a_cancel_that_is_not_allowed_says_so(signed_in, alice, catalogue):
    done = finish(place(alice, catalogue.default.pk))
    response = signed_in.post(reverse("order_cancel", args=[done.pk]), follow=True)
    assert b"This order can no longer be canceled." in response.content


# --- Hostile input ------------------------------------------------------------------


def test_what_a_customer_typed_is_shown_inert(signed_in, alice, types):
    link = "https://x.com/" + SCRIPT + QUOTES.replace(" ", "/")
    comments = f"{SCRIPT}\n{QUOTES}\nthree\nfour\nfive"
    response = post_order(signed_in, types["Custom Comments"], link=link, comments=comments)
    order = Order.objects.get()
    assert response["Location"] == reverse("order_detail", args=[order.pk])
    assert order.link == link
    for url in (reverse("orders"), reverse("order_detail", args=[order.pk])):
        text = signed_in.get(url).content.decode()
        assert SCRIPT not in text and "<img" not in text and "onerror=alert(1)>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert "&quot;&#x27;&gt;&lt;img" in text
    detail = signed_in.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "&quot;&#x27;&gt;&lt;img src=x onerror=alert(1)&gt;" in detail
