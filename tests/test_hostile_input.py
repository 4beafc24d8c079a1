"""Bad input never changes anything.

Every case below is an otherwise valid `add` of alice's (which would place a
0.09 order, see test_the_base_request_places_an_order) with one thing made
hostile. For each, in both dialects: the exact HTTP status, a JSON body that
is one non-empty "error" (the exact text where docs/api.md words it), sent as
application/json, and no order, order event or ledger entry written, no
balance moved.
"""

import json
import sys
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from links import ACCEPTED_LINKS, REFUSED_LINKS, link_params
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import ApiKey
from smmpanel.catalog.models import Category, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.drafting import PlacementError, normalise_link
from smmpanel.orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db

DIALECTS = ("v1", "v2")
LINK = "https://instagram.com/p/Cx1"
QUANTITY = "100"  # service min 50, max 10000, rate 0.90: a 0.09 order
MB = 1024 * 1024

# docs/api.md, "Error strings": (v2, v1).
INVALID_KEY = ("Invalid API key", "API is Disable for this user or User Not Found! Contact the Support")
BAD_ACTION = ("Incorrect request", "This action is Invalid")
BAD_SERVICE = ("Incorrect service ID", "Service ID does not exists")
BAD_LINK = ("Incorrect link", "Bad Link")
BAD_QUANTITY = ("Incorrect quantity", "Incorrect quantity")
ABOVE_MAX = (
    "Quantity more than maximum 10000",
    "Quantity must to be less than or equal to maximum amount 10000",
)
V1_MISSING = "There are missing required parameters. Please check your API Manual"
ANY = (None, None)  # a situation the spec does not word: any non-empty error


def missing(name: str) -> tuple[str, str]:
    return (f"Missing required parameter: {name}", V1_MISSING)


@dataclass
class Context:
    api: Any  # conftest's Api
    key: str  # alice's
    service: int  # enabled Default service
    disabled: int  # a disabled service
    closed: int  # an enabled service in a disabled category
    disabled_user_key: str  # a customer with the API turned off
    revoked_key: str  # alice's second key, revoked


@dataclass
class Answer:
    status: int
    content_type: str | None
    body: bytes


Sender = Callable[[Context, str], Answer]

DROP = object()  # leave the parameter out


def _params(ctx: Context, overrides: dict[str, Any]) -> dict[str, str]:
    params: dict[str, Any] = {
        "key": ctx.key,
        "action": "add",
        "service": str(ctx.service),
        "link": LINK,
        "quantity": QUANTITY,
    }
    for name, value in overrides.items():
        value = value(ctx) if callable(value) else value
        if value is DROP:
            params.pop(name, None)
        else:
            params[name] = value
    return params


def _from_httpx(response: Any) -> Answer:
    return Answer(response.status_code, response.headers.get("content-type"), response.content)


def form(**overrides: Any) -> Sender:
    """A form POST of the base parameters with some replaced (or DROPped)."""

    def send(ctx: Context, path: str) -> Answer:
        return _from_httpx(ctx.api.client.post(path, data=_params(ctx, overrides)))

    return send


def with_headers(headers: dict[str, str], **overrides: Any) -> Sender:
    def send(ctx: Context, path: str) -> Answer:
        response = ctx.api.client.post(path, data=_params(ctx, overrides), headers=headers)
        return _from_httpx(response)

    return send


def raw(body: Callable[[Context], bytes], content_type: str | None) -> Sender:
    """A POST of exactly these bytes."""

    def send(ctx: Context, path: str) -> Answer:
        headers = {"content-type": content_type} if content_type else {}
        return _from_httpx(ctx.api.client.post(path, content=body(ctx), headers=headers))

    return send


def form_bytes(tail: bytes) -> Callable[[Context], bytes]:
    """The base form, urlencoded, without `link`, followed by `tail` (raw bytes)."""
    return lambda ctx: urlencode(_params(ctx, {"link": DROP})).encode() + b"&" + tail


def json_body(**overrides: Any) -> Sender:
    def send(ctx: Context, path: str) -> Answer:
        text = json.dumps(_params(ctx, overrides))
        return _from_httpx(
            ctx.api.client.post(path, content=text, headers={"content-type": "application/json"})
        )

    return send


def json_text(make: Callable[[Context], str]) -> Sender:
    """A JSON body written by hand, for what json.dumps will not write."""

    def send(ctx: Context, path: str) -> Answer:
        return _from_httpx(
            ctx.api.client.post(
                path, content=make(ctx).encode(), headers={"content-type": "application/json"}
            )
        )

    return send


def multipart_bytes(value: bytes) -> Sender:
    """multipart/form-data with `link` given as these raw bytes."""

    def send(ctx: Context, path: str) -> Answer:
        boundary = b"hostileboundary"
        parts = [(name.encode(), text.encode()) for name, text in _params(ctx, {"link": DROP}).items()] + [
            (b"link", value)
        ]
        body = (
            b"".join(
                b"--"
                + boundary
                + b'\r\nContent-Disposition: form-data; name="'
                + name
                + b'"\r\n\r\n'
                + data
                + b"\r\n"
                for name, data in parts
            )
            + b"--"
            + boundary
            + b"--\r\n"
        )
        return _from_httpx(
            ctx.api.client.post(
                path,
                content=body,
                headers={"content-type": "multipart/form-data; boundary=" + boundary.decode()},
            )
        )

    return send


def query(method: str, tail: str) -> Sender:
    """Parameters in the query string (no body), `tail` appended as written (%-escaped)."""

    def send(ctx: Context, path: str) -> Answer:
        url = f"{path}?{urlencode(_params(ctx, {'link': DROP}))}&{tail}"
        return _from_httpx(ctx.api.client.request(method, url))

    return send


def environ(
    query_string: Callable[[Context], str] = lambda ctx: "",
    body: bytes = b"",
    **extra: str,
) -> Sender:
    """Call the WSGI application directly, for requests no HTTP client will build.

    `query_string` is the PEP 3333 str (bytes decoded as latin-1), as a server passes it.
    """

    def send(ctx: Context, path: str) -> Answer:
        from smmpanel.wsgi import application

        env: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query_string(ctx),
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": BytesIO(body),
            "wsgi.errors": BytesIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
        env.update(extra)
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            started["status"], started["headers"] = status, headers

        chunks = application(env, start_response)
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        headers = {name.lower(): value for name, value in started["headers"]}
        return Answer(int(started["status"].split()[0]), headers.get("content-type"), content)

    return send


def fullwidth(number: int) -> str:
    return "".join(chr(0xFF10 + int(digit)) for digit in str(number))


def base_query(ctx: Context) -> str:
    return urlencode(_params(ctx, {"link": DROP}))


@dataclass(frozen=True)
class Case:
    id: str
    send: Sender
    errors: tuple[str | None, str | None]  # (v2, v1); None: any non-empty error
    status: int = 200


CASES = [
    # quantity
    Case("quantity-negative", form(quantity="-5"), BAD_QUANTITY),
    Case("quantity-zero", form(quantity="0"), BAD_QUANTITY),
    Case("quantity-30-nines", form(quantity="9" * 30), ABOVE_MAX),
    Case("quantity-20-digits", form(quantity="99999999999999999999"), ABOVE_MAX),
    Case("quantity-4000-digits", form(quantity="9" * 4000), ABOVE_MAX),
    Case("quantity-letters", form(quantity="abc"), BAD_QUANTITY),
    Case("quantity-exponent", form(quantity="1e3"), BAD_QUANTITY),
    Case("quantity-fraction", form(quantity="10.5"), BAD_QUANTITY),
    Case("quantity-plus-sign", form(quantity="+100"), BAD_QUANTITY),
    Case("quantity-underscore", form(quantity="1_000"), BAD_QUANTITY),
    Case("quantity-hex", form(quantity="0x64"), BAD_QUANTITY),
    Case("quantity-inner-space", form(quantity="1 00"), BAD_QUANTITY),
    Case("quantity-nul", form(quantity="100\x00"), BAD_QUANTITY),
    Case("quantity-escape", form(quantity="\x1b100"), BAD_QUANTITY),
    Case("quantity-vulgar-fraction", form(quantity="½"), BAD_QUANTITY),
    Case("quantity-superscript", form(quantity="²⁰⁰"), BAD_QUANTITY),
    Case("quantity-fullwidth", form(quantity="１００"), BAD_QUANTITY),
    Case("quantity-arabic-indic", form(quantity="١٠٠"), BAD_QUANTITY),
    # An empty value is the parameter missing (the code's reading of the spec).
    Case("quantity-empty", form(quantity=""), missing("quantity")),
    Case("quantity-blank", form(quantity="   "), missing("quantity")),
    Case("quantity-absent", form(quantity=DROP), missing("quantity")),
    # service
    Case("service-unknown", form(service="999999"), BAD_SERVICE),
    Case("service-disabled", form(service=lambda ctx: str(ctx.disabled)), BAD_SERVICE),
    Case("service-category-disabled", form(service=lambda ctx: str(ctx.closed)), BAD_SERVICE),
    Case("service-letters", form(service="abc"), BAD_SERVICE),
    Case("service-negative", form(service="-1"), BAD_SERVICE),
    Case("service-huge", form(service="99999999999999999999"), BAD_SERVICE),
    Case("service-sql", form(service="1 OR 1=1"), BAD_SERVICE),
    Case("service-fullwidth", form(service=lambda ctx: fullwidth(ctx.service)), BAD_SERVICE),
    Case("service-absent", form(service=DROP), missing("service")),
    # link
    Case("link-javascript", form(link="javascript:alert(1)"), BAD_LINK),
    Case("link-javascript-mixed-case", form(link="JaVaScRiPt:alert(document.cookie)"), BAD_LINK),
    Case("link-javascript-leading-space", form(link="  javascript:alert(1)"), BAD_LINK),
    Case("link-javascript-slashes", form(link="javascript://example.com/%0Aalert(1)"), BAD_LINK),
    Case("link-javascript-tab", form(link="java\tscript:alert(1)"), BAD_LINK),
    Case("link-data", form(link="data:text/html,<script>alert(1)</script>"), BAD_LINK),
    Case(
        "link-data-base64", form(link="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="), BAD_LINK
    ),
    Case("link-vbscript", form(link="vbscript:msgbox(1)"), BAD_LINK),
    Case("link-file", form(link="file:///etc/passwd"), BAD_LINK),
    Case("link-ftp", form(link="ftp://example.com/x"), BAD_LINK),
    Case("link-no-host", form(link="https://"), BAD_LINK),
    Case("link-nul", form(link="https://instagram.com/\x00p"), BAD_LINK),
    Case("link-newline", form(link="https://instagram.com/p\r\nSet-Cookie: a=b"), BAD_LINK),
    Case("link-escape", form(link="https://instagram.com/\x1b[31mp"), BAD_LINK),
    Case("link-del", form(link="https://instagram.com/\x7fp"), BAD_LINK),
    Case("link-c1-control", form(link="https://instagram.com/\x85p"), BAD_LINK),
    Case("link-inner-space", form(link="https://instagram.com/a b"), BAD_LINK),
    Case("link-2049-chars", form(link=LINK + "/" + "a" * (2048 - len(LINK))), BAD_LINK),
    Case("link-bare-2041-chars", form(link="a" * 2041), BAD_LINK),  # 2049 with https://
    Case("link-100k-chars", form(link=LINK + "/" + "a" * 100_000), BAD_LINK),
    Case("link-empty", form(link=""), missing("link")),
    *(Case(f"link-{name}", form(link=link), BAD_LINK) for name, link in REFUSED_LINKS),
    Case("link-absent", form(link=DROP), missing("link")),
    # key
    Case("key-absent", form(key=DROP), INVALID_KEY),
    Case("key-empty", form(key=""), INVALID_KEY),
    Case("key-wrong", form(key="0" * 32), INVALID_KEY),
    Case("key-sql", form(key="' OR '1'='1"), INVALID_KEY),
    Case("key-huge", form(key="k" * 200_000), INVALID_KEY),
    Case("key-revoked", form(key=lambda ctx: ctx.revoked_key), INVALID_KEY),
    Case("key-api-disabled-user", form(key=lambda ctx: ctx.disabled_user_key), INVALID_KEY),
    Case("key-wrong-bearer", with_headers({"authorization": "Bearer " + "0" * 32}, key=DROP), INVALID_KEY),
    Case("key-wrong-header", with_headers({"x-api-key": "0" * 32}, key=DROP), INVALID_KEY),
    # action
    Case("action-unknown", form(action="buy"), BAD_ACTION),
    Case("action-empty", form(action=""), BAD_ACTION),
    Case("action-absent", form(action=DROP), BAD_ACTION),
    Case("action-nul", form(action="add\x00"), BAD_ACTION),
    Case("action-huge", form(action="add" * 100_000), BAD_ACTION),
    # transport: size
    Case("body-1mb-form", raw(form_bytes(b"link=" + b"a" * MB), None), ANY, status=413),
    Case(
        "body-1mb-json",
        raw(lambda ctx: b'{"pad": "' + b"a" * MB + b'"}', "application/json"),
        ANY,
        status=413,
    ),
    Case(
        "body-1mb-chunked", environ(body=b"a=" + b"a" * MB, HTTP_TRANSFER_ENCODING="chunked"), ANY, status=413
    ),
    # transport: encoding
    Case("form-escaped-invalid-utf8", raw(form_bytes(b"link=https%3A%2F%2Fx.com%2F%FF"), None), ANY),
    Case("form-raw-invalid-utf8", raw(form_bytes(b"link=https://x.com/\xff\xfe"), None), ANY),
    Case("form-overlong-utf8", raw(form_bytes(b"link=https://x.com/%C0%AF"), None), ANY),
    Case("form-invalid-utf8-name", raw(form_bytes(b"li%FFnk=https://x.com/"), None), ANY),
    Case("form-escaped-surrogate", raw(form_bytes(b"link=https://x.com/%ED%A0%80"), None), ANY),
    Case("multipart-invalid-utf8", multipart_bytes(b"https://x.com/\xff"), ANY),
    Case("query-post-invalid-utf8", query("POST", "link=https://x.com/%FF"), ANY),
    Case("query-get-invalid-utf8", query("GET", "link=https://x.com/%FF"), ANY),
    Case("query-raw-invalid-utf8", environ(lambda ctx: base_query(ctx) + "&link=https://x.com/\xff"), ANY),
    Case("json-invalid-utf8", raw(lambda ctx: b'{"key": "\xff"}', "application/json"), ANY),
    # transport: shape
    Case("json-array", json_text(lambda ctx: json.dumps([_params(ctx, {})])), ANY),
    Case("json-string", json_text(lambda ctx: '"add"'), ANY),
    Case("json-null", json_text(lambda ctx: "null"), ANY),
    Case("json-malformed", json_text(lambda ctx: json.dumps(_params(ctx, {}))[:-1]), ANY),
    Case("json-trailing-garbage", json_text(lambda ctx: json.dumps(_params(ctx, {})) + "x"), ANY),
    Case(
        "json-deeply-nested",
        json_text(lambda ctx: '{"x": ' + "[" * 100_000 + "]" * 100_000 + "}"),
        ANY,
    ),
    Case("json-quantity-negative", json_body(quantity=-5), BAD_QUANTITY),
    Case("json-quantity-float", json_body(quantity=1e3), BAD_QUANTITY),
    Case(
        "json-quantity-infinite",
        json_text(lambda ctx: json.dumps(_params(ctx, {}))[:-1] + ', "quantity": 1e400}'),
        BAD_QUANTITY,
    ),
    Case(
        "json-quantity-nan",
        json_text(lambda ctx: json.dumps(_params(ctx, {}))[:-1] + ', "quantity": NaN}'),
        BAD_QUANTITY,
    ),
    Case("json-link-object", json_body(link={"href": LINK}), BAD_LINK),
    Case("json-link-list", json_body(link=[LINK, LINK]), BAD_LINK),
    Case(
        "json-link-lone-surrogate",
        json_text(lambda ctx: json.dumps(_params(ctx, {}))[:-1] + ', "link": "https://x.com/\\ud800"}'),
        ANY,
    ),
    Case("form-too-many-fields", raw(form_bytes(b"&".join([b"f=1"] * 1001)), None), ANY),
    Case("multipart-no-boundary", raw(lambda ctx: b"--x\r\n\r\n", "multipart/form-data"), ANY),
    Case("content-length-not-a-number", environ(base_query, body=b"a=1", CONTENT_LENGTH="abc"), ANY),
]


def _params_for(case: Case) -> Any:
    return pytest.param(case, id=case.id)


@pytest.fixture
def ctx(api: Any, alice: Any, catalogue: Any) -> Context:
    closed_category = Category.objects.create(name="Closed", sort_order=9, enabled=False)
    closed = Service.objects.create(
        category=closed_category,
        name="Hidden",
        type=ServiceType.DEFAULT,
        rate=Decimal("1"),
        min=1,
        max=10000,
    )
    mallory, mallory_key = create_customer("mallory", balance=Decimal(50))
    mallory.api_enabled = False
    mallory.save(update_fields=["api_enabled"])
    revoked, revoked_raw = ApiKey.issue(alice.user, name="old")
    revoked.is_active = False
    revoked.save(update_fields=["is_active"])
    return Context(
        api,
        alice.key,
        catalogue.default.pk,
        catalogue.disabled.pk,
        closed.pk,
        mallory_key,
        revoked_raw,
    )


def _state(alice: Any) -> tuple[object, ...]:
    return (
        Order.objects.count(),
        OrderEvent.objects.count(),
        LedgerEntry.objects.count(),
        alice.balance(),
        sorted(LedgerEntry.objects.values_list("user_id", "amount")),
    )


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", [_params_for(case) for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(case: Case, dialect: str, ctx: Context, alice: Any) -> None:
    before = _state(alice)

    answer = case.send(ctx, f"/api/{dialect}")

    assert answer.status == case.status, answer.body[:300]
    assert answer.content_type == "application/json"
    body = json.loads(answer.body.decode("utf-8"))
    assert isinstance(body, dict) and list(body) == ["error"], body
    expected = case.errors[0] if dialect == "v2" else case.errors[1]
    if expected is None:
        assert isinstance(body["error"], str) and body["error"].strip()
    else:
        assert body["error"] == expected
    assert _state(alice) == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_base_request_places_an_order(dialect: str, ctx: Context, alice: Any) -> None:
    """The control: without the hostile part, the same requests do change things."""
    answer = form()(ctx, f"/api/{dialect}")
    assert answer.status == 200
    body = json.loads(answer.body)
    assert isinstance(body["order"], int)
    assert Order.objects.get(pk=body["order"]).link == LINK
    assert alice.balance() == Decimal("99.91")
    # The other transports the hostile cases use (distinct links: one active order per link).
    senders = (
        json_body(link=LINK + "/json"),
        query("POST", "link=" + quote(LINK + "/query", safe="")),
        multipart_bytes((LINK + "/multipart").encode()),
        environ(lambda ctx: base_query(ctx) + "&link=" + quote(LINK + "/environ", safe="")),
    )
    for send in senders:
        answer = send(ctx, f"/api/{dialect}")
        assert answer.status == 200
        assert "order" in json.loads(answer.body), answer.body
    assert Order.objects.count() == 5
    assert alice.balance() == Decimal("99.55")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_longest_link_is_accepted(dialect: str, ctx: Context) -> None:
    """2,048 characters is allowed, so link-2049-chars is refused for its length alone."""
    link = LINK + "/" + "a" * (2047 - len(LINK))
    assert len(link) == 2048
    body = json.loads(form(link=link)(ctx, f"/api/{dialect}").body)
    assert "order" in body, body


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("link", link_params(ACCEPTED_LINKS))
def test_links_that_only_look_unusual_are_accepted(link: str, dialect: str, ctx: Context) -> None:
    """The control of the link-cf-* and link-port-* cases: valid ports and non-Latin text pass."""
    body = json.loads(form(link=link)(ctx, f"/api/{dialect}").body)
    assert "order" in body, body


def test_every_format_character_is_refused_in_a_link() -> None:
    """Not only the few above: each of Unicode's format (Cf) characters, anywhere in a link."""
    format_characters = [chr(n) for n in range(sys.maxunicode + 1) if unicodedata.category(chr(n)) == "Cf"]
    assert len(format_characters) > 150
    for char in format_characters:
        for link in (f"https://instagram.com/p/{char}Cx1", f"https://insta{char}gram.com/p/Cx1"):
            with pytest.raises(PlacementError) as refused:
                normalise_link(link)
            assert refused.value.code == PlacementError.BAD_LINK, hex(ord(char))


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_a_1mb_body_through_the_real_server_is_413_json_and_changes_nothing(
    panel_server: str,  # noqa: F811
) -> None:
    """As above for the body size, through granian: with Content-Length and chunked."""
    user, key = create_customer("carol", balance=Decimal(100))
    service = Service.objects.create(
        category=Category.objects.create(name="Big"), name="Followers", rate=Decimal("1"), min=1, max=10000
    )
    fields = urlencode({"key": key, "action": "add", "service": service.pk, "link": LINK, "quantity": "100"})
    body = fields.encode() + b"&pad=" + b"a" * MB

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    headers = {"content-type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=panel_server, timeout=30) as client:
        for content in (body, chunks()):
            response = client.post("/api/v2", content=content, headers=headers)
            assert response.status_code == 413
            assert response.headers["content-type"] == "application/json"
            error = response.json()
            assert list(error) == ["error"] and error["error"].strip()
        assert Order.objects.filter(user=user).count() == 0
        # The control: the same form without the padding places the order.
        assert "order" in client.post("/api/v2", content=fields.encode(), headers=headers).json()
    user.refresh_from_db()
    assert Order.objects.filter(user=user).count() == 1
    assert LedgerEntry.objects.filter(user=user).count() == 2  # the opening deposit and one charge
    assert user.balance == Decimal("99.9")
