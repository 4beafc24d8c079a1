"""`add` for every service type of docs/api.md: what each needs, charges and stores."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from smmpanel.catalog import demo
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order

V1_MISSING = "There are missing required parameters. Please check your API Manual"
LINK = "https://instagram.com/p/abc"


@pytest.fixture
def types(alice):
    """Service id by v2 type name: the demo catalogue has one of each (see catalog/demo.py)."""
    return demo.seed()


def add(api, dialect, customer, service, **params):
    return api.post(dialect, key=customer.key, action="add", service=service, **params)


def order_of(answer):
    assert set(answer) <= {"order", "status"}, answer
    return Order.objects.get(pk=answer["order"])


# (type, params, units charged, rate in the demo catalogue, params stored)
VALID = [
    ("Default", {"link": LINK, "quantity": "1000"}, 1000, "0.90", {}),
    ("Package", {"link": LINK}, None, "4.50", {}),
    (
        "Custom Comments",
        {"link": LINK, "comments": "nice!\r\n\r\n  great  \nwow\n\nok\nyes"},
        5,
        "12.00",
        {"comments": "nice!\ngreat\nwow\nok\nyes"},
    ),
    ("Custom Comments Package", {"link": LINK, "comments": "a\nb"}, None, "2.50", {"comments": "a\nb"}),
    (
        "Mentions",
        {"link": LINK, "quantity": "100", "usernames": "ann\r\nbob"},
        100,
        "2.00",
        {"usernames": "ann\nbob"},
    ),
    (
        "Mentions with Hashtags",
        {"link": LINK, "quantity": "100", "usernames": "ann\nbob", "hashtags": "#a\n#b"},
        100,
        "2.40",
        {"usernames": "ann\nbob", "hashtags": "#a\n#b"},
    ),
    (
        "Mentions Custom List",
        {"link": LINK, "usernames": "\n".join(f"user{n}" for n in range(12))},
        12,
        "3.00",
        {"usernames": "\n".join(f"user{n}" for n in range(12))},
    ),
    (
        "Mentions Hashtag",
        {"link": LINK, "quantity": "100", "hashtag": "#cats"},
        100,
        "2.20",
        {"hashtag": "#cats"},
    ),
    (
        "Mentions User Followers",
        {"link": LINK, "quantity": "100", "username": "natgeo"},
        100,
        "2.20",
        {"username": "natgeo"},
    ),
    (
        "Mentions Media Likers",
        {"link": LINK, "quantity": "100", "media": "https://instagram.com/p/x"},
        100,
        "2.20",
        {"media": "https://instagram.com/p/x"},
    ),
    (
        "Comment Likes",
        {"link": LINK, "quantity": "20", "username": "commenter"},
        20,
        "3.20",
        {"username": "commenter"},
    ),
    (
        "Comment Replies",
        {"link": LINK, "username": "owner", "comments": "r1\nr2\nr3\nr4\nr5"},
        5,
        "15.00",
        {"username": "owner", "comments": "r1\nr2\nr3\nr4\nr5"},
    ),
    ("Poll", {"link": LINK, "quantity": "100", "answer_number": "2"}, 100, "1.80", {"answer_number": "2"}),
    (
        "Invites from Groups",
        {"link": LINK, "quantity": "100", "groups": "g1\ng2"},
        100,
        "5.00",
        {"groups": "g1\ng2"},
    ),
    (
        "SEO",
        {"link": LINK, "quantity": "1000", "keywords": "buy cats\ncat food"},
        1000,
        "0.75",
        {"keywords": "buy cats\ncat food"},
    ),
]


@pytest.mark.parametrize("dialect", ["v1", "v2"])
@pytest.mark.parametrize(("type_name", "params", "units", "rate", "stored"), VALID, ids=[v[0] for v in VALID])
def test_a_valid_order_of_each_type(api, alice, types, dialect, type_name, params, units, rate, stored):
    answer = add(api, dialect, alice, types[type_name], **params)
    if dialect == "v1":
        assert answer["status"] == "success"
    assert isinstance(answer["order"], int)
    order = order_of(answer)
    expected = (
        Decimal(rate) if units is None else (Decimal(rate) * units / 1000).quantize(Decimal("0.000001"))
    )
    assert order.charge == expected
    assert order.quantity == (units or 1)
    assert order.params == stored
    assert order.link == LINK
    assert alice.balance() == Decimal(100) - expected
    assert LedgerEntry.objects.get(order=order).amount == -expected


def test_parameters_foreign_to_a_type_are_ignored(api, alice, types):
    answer = add(
        api,
        "v2",
        alice,
        types["Mentions Hashtag"],
        link=LINK,
        quantity="100",
        hashtag="#a",
        comments="x",
        usernames="y",
        runs="3",
        interval="5",
        answer_number="1",
    )
    order = order_of(answer)
    assert order.params == {"hashtag": "#a"}
    assert order.kind == "single"


# (type, params, v2 error, v1 error)
INVALID = [
    ("Custom Comments", {"link": LINK}, "Missing required parameter: comments", V1_MISSING),
    (
        "Custom Comments",
        {"link": LINK, "comments": "\n \r\n"},
        "Missing required parameter: comments",
        V1_MISSING,
    ),
    (
        "Custom Comments",
        {"link": LINK, "comments": "a\nb"},
        "Quantity less than minimal 5",
        "Quantity must to be greater than or equal to minimum amount 5",
    ),
    (
        "Custom Comments",
        {"link": LINK, "comments": "\n".join(["c"] * 501)},
        "Quantity more than maximum 500",
        "Quantity must to be less than or equal to maximum amount 500",
    ),
    ("Custom Comments", {"comments": "a\nb\nc\nd\ne"}, "Missing required parameter: link", V1_MISSING),
    ("Custom Comments Package", {"link": LINK}, "Missing required parameter: comments", V1_MISSING),
    ("Custom Comments Package", {"link": "javascript:x", "comments": "a"}, "Incorrect link", "Bad Link"),
    ("Mentions", {"link": LINK, "quantity": "100"}, "Missing required parameter: usernames", V1_MISSING),
    ("Mentions", {"link": LINK, "usernames": "a"}, "Missing required parameter: quantity", V1_MISSING),
    (
        "Mentions",
        {"link": LINK, "quantity": "99", "usernames": "a"},
        "Quantity less than minimal 100",
        "Quantity must to be greater than or equal to minimum amount 100",
    ),
    (
        "Mentions with Hashtags",
        {"link": LINK, "quantity": "100", "usernames": "a"},
        "Missing required parameter: hashtags",
        V1_MISSING,
    ),
    (
        "Mentions with Hashtags",
        {"link": LINK, "quantity": "100", "hashtags": "#a"},
        "Missing required parameter: usernames",
        V1_MISSING,
    ),
    ("Mentions Custom List", {"link": LINK}, "Missing required parameter: usernames", V1_MISSING),
    (
        "Mentions Custom List",
        {"link": LINK, "usernames": "a\nb"},
        "Quantity less than minimal 10",
        "Quantity must to be greater than or equal to minimum amount 10",
    ),
    (
        "Mentions Hashtag",
        {"link": LINK, "quantity": "100"},
        "Missing required parameter: hashtag",
        V1_MISSING,
    ),
    (
        "Mentions Hashtag",
        {"link": LINK, "quantity": "abc", "hashtag": "#a"},
        "Incorrect quantity",
        "Incorrect quantity",
    ),
    (
        "Mentions User Followers",
        {"link": LINK, "quantity": "100"},
        "Missing required parameter: username",
        V1_MISSING,
    ),
    (
        "Mentions Media Likers",
        {"link": LINK, "quantity": "100"},
        "Missing required parameter: media",
        V1_MISSING,
    ),
    (
        "Mentions Media Likers",
        {"link": LINK, "quantity": "100000", "media": "m"},
        "Quantity more than maximum 10000",
        "Quantity must to be less than or equal to maximum amount 10000",
    ),
    ("Comment Likes", {"link": LINK, "quantity": "20"}, "Missing required parameter: username", V1_MISSING),
    (
        "Comment Replies",
        {"link": LINK, "comments": "a\nb\nc\nd\ne"},
        "Missing required parameter: username",
        V1_MISSING,
    ),
    ("Comment Replies", {"link": LINK, "username": "u"}, "Missing required parameter: comments", V1_MISSING),
    ("Poll", {"link": LINK, "quantity": "100"}, "Missing required parameter: answer_number", V1_MISSING),
    (
        "Poll",
        {"link": LINK, "quantity": "100", "answer_number": "first"},
        "Incorrect parameter: answer_number",
        "Incorrect parameter: answer_number",
    ),
    (
        "Poll",
        {"link": LINK, "quantity": "100", "answer_number": "0"},
        "Incorrect parameter: answer_number",
        "Incorrect parameter: answer_number",
    ),
    (
        "Invites from Groups",
        {"link": LINK, "quantity": "100"},
        "Missing required parameter: groups",
        V1_MISSING,
    ),
    ("SEO", {"link": LINK, "quantity": "1000"}, "Missing required parameter: keywords", V1_MISSING),
    ("SEO", {"link": "ftp://x.com", "quantity": "1000", "keywords": "k"}, "Incorrect link", "Bad Link"),
    ("Package", {}, "Missing required parameter: link", V1_MISSING),
    (
        "Mentions Hashtag",
        {"link": LINK, "quantity": "100", "hashtag": "#a\x00b"},
        "Incorrect parameter: hashtag",
        "Incorrect parameter: hashtag",
    ),
]


@pytest.mark.parametrize(
    ("type_name", "params", "v2", "v1"), INVALID, ids=[f"{i[0]}-{n}" for n, i in enumerate(INVALID)]
)
def test_invalid_orders_of_each_type(api, alice, types, type_name, params, v2, v1):
    orders, balance = Order.objects.count(), alice.balance()
    assert add(api, "v2", alice, types[type_name], **params) == {"error": v2}
    assert add(api, "v1", alice, types[type_name], **params) == {"error": v1}
    assert (Order.objects.count(), alice.balance()) == (orders, balance)


# --- subscriptions ------------------------------------------------------


def future(days=30):
    return (timezone.localdate() + timedelta(days=days)).strftime("%d/%m/%Y")


def test_a_subscription_is_stored_and_charges_nothing(api, alice, types):
    expiry = future()
    answer = add(
        api,
        "v2",
        alice,
        types["Subscriptions"],
        username="natgeo",
        min="100",
        max="200",
        posts="10",
        old_posts="2",
        delay="30",
        expiry=expiry,
    )
    order = order_of(answer)
    assert (order.kind, order.status, order.charge) == ("subscription", "active", Decimal(0))
    assert order.params == {
        "username": "natgeo",
        "min": 100,
        "max": 200,
        "posts": 10,
        "old_posts": 2,
        "delay": 30,
        "expiry": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "rate": "0.600000",
    }
    assert alice.balance() == Decimal(100)


def test_a_subscription_status_v2(api, alice, types):
    order = order_of(add(api, "v2", alice, types["Subscriptions"], username="natgeo", min="100", max="200"))
    assert api.post("v2", key=alice.key, action="status", order=order.pk) == {
        "status": "Active",
        "expiry": None,
        "posts": "0",
        "orders": [],
        "charge": "0.00000",
        "currency": "USD",
    }


def test_a_subscription_status_v1_with_posts(api, alice, types):
    expiry = future(10)
    order = order_of(
        add(api, "v1", alice, types["Subscriptions"], username="natgeo", min="100", max="200", expiry=expiry)
    )
    post = Order.objects.create(
        user=alice.user,
        service=order.service,
        parent=order,
        kind="post",
        link="https://instagram.com/p/1",
        quantity=150,
        charge=Decimal("0.09"),
        created_at=order.created_at,
        updated_at=order.created_at,
    )
    assert api.post("v1", key=alice.key, action="status", order=order.pk) == {
        "status": "Active",
        "expiry": expiry,
        "posts": "1",
        "orders": [post.pk],
    }
    assert (
        api.post("v2", key=alice.key, action="status", orders=str(order.pk))[str(order.pk)]["charge"]
        == "0.09000"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"username": "u", "min": "200", "max": "100"},  # min > max
        {"username": "u", "min": "10", "max": "100"},  # below the service's min (50)
        {"username": "u", "min": "100", "max": "9999"},  # above the service's max (5000)
        {"username": "u", "min": "100", "max": "200", "delay": "7"},
        {"username": "u", "min": "100", "max": "200", "delay": "abc"},
        {"username": "u", "min": "100", "max": "200", "expiry": "2020-01-01"},
        {"username": "u", "min": "100", "max": "200", "expiry": "01/01/2020"},
        {"username": "u", "min": "100", "max": "200", "expiry": "31/02/2030"},
        {"username": "u", "min": "100", "max": "200", "posts": "0"},
        {"username": "u", "min": "100", "max": "200", "posts": "-1"},
        {"username": "u", "min": "100", "max": "200", "old_posts": "x"},
        {"username": "u", "min": "1.5", "max": "200"},
    ],
)
def test_bad_subscription_parameters(api, alice, types, params):
    message = {"error": "Incorrect subscription parameters"}
    assert add(api, "v2", alice, types["Subscriptions"], **params) == message
    assert add(api, "v1", alice, types["Subscriptions"], **params) == message
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("missing", "params"),
    [
        ("username", {"min": "100", "max": "200"}),
        ("min", {"username": "u", "max": "200"}),
        ("max", {"username": "u", "min": "100"}),
    ],
)
def test_subscription_required_parameters(api, alice, types, missing, params):
    assert add(api, "v2", alice, types["Subscriptions"], **params) == {
        "error": f"Missing required parameter: {missing}"
    }
    assert add(api, "v1", alice, types["Subscriptions"], **params) == {"error": V1_MISSING}


def test_every_delay_of_the_spec_is_accepted(api, alice, types):
    for n, delay in enumerate(
        [0, 5, 10, 15, 20, 30, 40, 50, 60, 90, 120, 150, 180, 210, 240, 270, 300, 360, 420, 480, 540, 600]
    ):
        answer = add(
            api, "v2", alice, types["Subscriptions"], username=f"u{n}", min="100", max="200", delay=str(delay)
        )
        assert "order" in answer, (delay, answer)
