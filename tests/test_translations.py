"""Every page exists in Spanish: the catalogue covers every string the code marks, and is compiled.

`make messages` regenerates smmpanel/locale/es/LC_MESSAGES/django.po and compiles it; these tests
extract the strings again into a scratch copy and fail on any string without a translation.
"""

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from conftest import Customer
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation

import smmpanel
from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, CustomRate, Service
from smmpanel.catalog.offers import offer
from smmpanel.catalog.types import PACKAGE_TYPES, ServiceType
from smmpanel.engine import dripfeed
from smmpanel.ledger.accounts import credit
from smmpanel.orders import drafting, placement, transitions
from smmpanel.orders.models import Order
from smmpanel.orders.requests import request_cancel, request_refill
from smmpanel.payments import services as payments
from smmpanel.payments.models import Payment
from smmpanel.web.views import orders as order_views
from smmpanel.web.views.account import confirmation_token

PACKAGE = Path(smmpanel.__file__).resolve().parent
CATALOGUE = PACKAGE / "locale" / "es" / "LC_MESSAGES"
# The same options as `make messages`.
MAKEMESSAGES = {"locale": ["es"], "no_obsolete": True, "add_location": "file", "verbosity": 0}


def _entries(po: Path, *flags: str) -> str:
    """The entries msgattrib selects (e.g. --untranslated), without the header."""
    out = subprocess.run(
        ["msgattrib", *flags, "--no-wrap", str(po)], capture_output=True, text=True, check=True
    )
    return "\n".join(
        block for block in out.stdout.split("\n\n") if block.strip() and 'msgid ""\nmsgstr ""' not in block
    )


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The catalogue as `make messages` would write it now, in a scratch copy of the package."""
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is missing: `make test` installs it (apt-get install gettext)")
    scratch = tmp_path_factory.mktemp("messages")
    source = scratch / "smmpanel"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("locale", "__pycache__", "static"))
    locale = scratch / "locale"
    shutil.copytree(PACKAGE / "locale", locale)
    cwd = os.getcwd()
    os.chdir(source)
    try:
        with override_settings(LOCALE_PATHS=[locale]):
            call_command("makemessages", **MAKEMESSAGES)
    finally:
        os.chdir(cwd)
    yield locale / "es" / "LC_MESSAGES" / "django.po"


def test_every_marked_string_has_a_spanish_translation(regenerated: Path) -> None:
    missing = _entries(regenerated, "--untranslated")
    assert not missing, f"untranslated strings (run `make messages` and translate them):\n{missing}"


def test_no_translation_is_a_fuzzy_guess(regenerated: Path) -> None:
    fuzzy = _entries(regenerated, "--only-fuzzy")
    assert not fuzzy, f"fuzzy entries (check each, then remove the fuzzy flag):\n{fuzzy}"


def test_the_committed_catalogue_is_compiled(tmp_path: Path) -> None:
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(CATALOGUE / "django.po")], check=True)
    assert (CATALOGUE / "django.mo").read_bytes() == compiled.read_bytes(), "run `make messages`"


@pytest.mark.django_db
@override_settings(LANGUAGE_CODE="en")
def test_pages_come_out_in_spanish(client: Client) -> None:
    for url, spanish in [
        ("/", "Crear una cuenta"),
        ("/login/", "Iniciar sesión"),
        ("/signup/", "Crea tu cuenta"),
    ]:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
        assert '<html lang="es">' in page
        assert spanish in page, url


# --- Every page, in Spanish and in English ------------------------------------------------------------
#
# A customer with one order of each kind, payments in every state, ledger entries of every kind and an
# API key; the pages are rendered in each language and their visible text read: in Spanish no English
# word may be left, in English no Spanish. The customer's own data (names the operator gave services,
# links, comments, memos) is taken out first: it is shown as typed, in whatever language it was typed.

PASSWORD = "Quiet-harbour-71"
# What the test itself types: shown as typed in both languages, so taken out before reading.
CATEGORIES = (
    "Seguidores de Instagram",
    "Comentarios a medida",
    "Paquetes",
    "Suscripciones de likes",
    "Varios",
)
DESCRIPTION = "Perfiles con aspecto real"
LINK = "https://ejemplo.es/p/uno"
COMMENTS = ("¡Qué foto!", "Me encanta")
OPERATOR_NOTE = "No llegó la transferencia"
# Words the English text uses everywhere; none may be left in a Spanish page. Names the two languages
# share (API, ID, SEO, hashtag, SmartPanel, Perfect Panel, curl, JSON, POST, GET, HTTP) are not here.
ENGLISH = re.compile(
    r"\b(the|an|your|you|and|or|with|of|for|to|in|on|at|by|from|is|are|was|were|be|it|this|that|not|"
    r"yet|all|any|every|each|more|than|many|how|what|when|which|who|here|now|new|only|one|per|"
    r"order|orders|ordered|place|placed|balance|service|services|price|prices|rate|quantity|link|links|"
    r"status|add|funds|key|keys|log|sign|login|account|password|username|email|address|pending|completed|"
    r"partial|canceled|cancel|refill|refills|history|charge|charged|charges|spent|deposit|deposits|refund|"
    r"refunds|adjustment|transactions|transaction|payment|payments|transfer|bank|reference|copy|copied|"
    r"search|show|clear|save|send|choose|create|rotate|previous|next|page|pages|results|failed|line|lines|"
    r"example|category|categories|options|settings|dashboard|mass|runs|interval|comments|posts|"
    r"subscription|subscriptions|active|paused|expired|rejected|confirmed|processing|progress|started|"
    r"date|amount|kind|description|remains|updated|created|requested|required|field|enter|valid|select|"
    r"minutes|minute|delay|maximum|minimum|min|max|help|menu|skip|content|language|timezone|time|zone)\b",
    re.IGNORECASE,
)
# Spanish words and letters no English page may show.
SPANISH = re.compile(
    r"[áéíóúñ¿¡]|\b(de|del|la|las|el|los|en|y|que|con|por|para|tu|tus|pedido|pedidos|saldo|fondos|servicio|"
    r"servicios|enlace|cantidad|estado|cuenta|sesi|cargo|reembolso|movimientos|ajustes|panel de|entregas|"
    r"goteo|todos|buscar|crear|enviar)\b",
    re.IGNORECASE,
)
# The site says "tú" to the customer; Django's own Spanish says "usted" (smmpanel/web/django_wording.py).
FORMAL = re.compile(
    r"\b(usted|introduzca|escoja|elija|asegúrese|vuelva|observe|por favor|su contraseña)\b", re.I
)
# Code-like tokens kept as they are in either language: «name», name=value, paths and addresses, d/m/Y.
CODE_LIKE = re.compile(r"«[^»]*»|\S+=\S*|\S*/\S*|\S+@\S+")
SKIPPED = {"script", "style", "code", "pre"}
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "data-label", "data-copied", "alt", "label")


class _Text(HTMLParser):
    """The text a reader sees or hears: text nodes and the attributes shown or read out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        # Language names are written in their own language; time zones are the tz database's names.
        if tag in SKIPPED or (tag == "option" and found.get("lang")) or found.get("name") == "timezone":
            self.skipping.append(tag)
            return
        if not self.skipping:
            self.parts.extend(str(found[name]) for name in SHOWN_ATTRIBUTES if found.get(name))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.parts.append(data.strip())


def visible_text(page: str, typed: tuple[str, ...] = ()) -> str:
    reader = _Text()
    reader.feed(page)
    text = CODE_LIKE.sub(" ", " | ".join(reader.parts))
    for value in sorted(typed, key=len, reverse=True):
        text = text.replace(value, " ")
    return text


@dataclass
class Shop:
    customer: Customer
    services: dict[str, Service]  # by type
    orders: dict[str, Order]
    payments: dict[str, Payment]
    typed: tuple[str, ...]


def _finish(order: Order, status: str = Order.Status.COMPLETED, remains: int | None = None) -> Order:
    now = timezone.now()
    assert transitions.claim(order.pk, now)
    assert transitions.sent(order.pk, f"up-{order.pk}", None, now)
    assert transitions.finish(order.pk, status, remains, now)
    order.refresh_from_db()
    return order


@pytest.fixture
def shop(alice: Customer, clock: Any) -> Shop:
    categories = [Category.objects.create(name=name, sort_order=n) for n, name in enumerate(CATEGORIES)]
    names = {
        ServiceType.DEFAULT: ("Seguidores reales", categories[0]),
        ServiceType.CUSTOM_COMMENTS: ("Comentarios propios", categories[1]),
        ServiceType.PACKAGE: ("Paquete inicial", categories[2]),
        ServiceType.SUBSCRIPTIONS: ("Likes automaticos", categories[3]),
    }
    services = {}
    for number, service_type in enumerate(ServiceType):
        name, category = names.get(service_type, (f"Servicio numero {number}", categories[4]))
        package = service_type in PACKAGE_TYPES
        services[service_type.value] = Service.objects.create(
            category=category,
            name=name,
            type=service_type,
            rate=Decimal("0.90"),
            min=1 if package else 2,
            max=1 if package else 200000,
            dripfeed=service_type == ServiceType.DEFAULT,
            refill=True,
            cancel=True,
            description=DESCRIPTION,
        )
    CustomRate.objects.create(user=alice.user, service=services["package"], rate=Decimal("4"))
    user = alice.user
    user.set_password(PASSWORD)  # so that a password reset is sent
    user.save(update_fields=["password"])

    def place(service: str, **params: str) -> Order:
        terms = offer(user.pk, services[service].pk)
        assert terms is not None
        draft = drafting.draft(terms, {"link": LINK, **params})
        return Order.objects.get(pk=placement.place(user.pk, draft, source=Order.Source.WEB))

    orders = {
        "pending": place("default", quantity="100"),
        "dripfeed": place("default", link=LINK + "/2", quantity="100", runs="3", interval="5"),
        "comments": place("custom_comments", comments="\n".join(COMMENTS)),
        "subscription": place("subscriptions", username="alice", min="100", max="200", posts="4"),
        "completed": _finish(place("default", link=LINK + "/3", quantity="100")),
        "partial": _finish(place("default", link=LINK + "/4", quantity="100"), Order.Status.PARTIAL, 40),
        "canceled": _finish(place("package"), Order.Status.CANCELED),
        "cancel_requested": place("default", link=LINK + "/5", quantity="100"),
    }
    dripfeed.release_runs(clock())
    orders["run"] = Order.objects.get(parent=orders["dripfeed"])
    now = timezone.now()
    orders["post"] = Order.objects.create(
        user=user,
        service=services["subscriptions"],
        parent=orders["subscription"],
        kind=Order.Kind.POST,
        link=LINK + "/6",
        quantity=150,
        charge=Decimal("0.135"),
        remains=150,
        created_at=now,
        updated_at=now,
    )
    request_refill(user.pk, orders["completed"].pk)
    request_cancel(user.pk, orders["cancel_requested"].pk)
    payments_by_status = {}
    for status in ("pending", "confirmed", "rejected", "canceled"):
        payment = payments.request_bank_transfer(user, Decimal("25"))
        if status == "confirmed":
            payments.confirm(payment.pk, None)
        elif status == "rejected":
            payments.reject(payment.pk, None, OPERATOR_NOTE)
        elif status == "canceled":
            payments.cancel(payment.pk, user)
        payment.refresh_from_db()
        payments_by_status[status] = payment
    for _ in range(50):  # a second page of transactions; the memo is left to the panel
        credit(user, Decimal("0.01"), memo="")
    credit(user, Decimal("1"), memo="Bono de bienvenida")
    typed = (
        *CATEGORIES,
        *(s.name for s in services.values()),
        DESCRIPTION,
        *COMMENTS,
        OPERATOR_NOTE,
        "Bono de bienvenida",
        *(p.reference for p in payments_by_status.values()),
        user.username,
        *(name for _code, name in settings.LANGUAGES),  # each language's name, in that language
    )
    return Shop(alice, services, orders, payments_by_status, typed)


def _customer_pages(client: Client, shop: Shop) -> Iterator[tuple[str, str]]:
    """(what, html) of every page of the customer's area, with its messages and its mistakes."""
    client.force_login(shop.customer.user)
    services, orders = shop.services, shop.orders

    def get(url: str, data: dict[str, str] | None = None, status: int = 200, **extra: str) -> tuple[str, str]:
        response = client.get(url, data or {}, **extra)
        assert response.status_code == status, url
        return f"GET {url} {data or ''}", response.content.decode()

    def post(url: str, data: dict[str, str]) -> tuple[str, str]:
        response = client.post(url, data, follow=True)
        assert response.status_code == 200, url
        return f"POST {url} {data}", response.content.decode()

    yield get(reverse("dashboard"))
    yield get(reverse("order_new"))
    for service in services.values():
        yield get(reverse("order_new"), {"service": str(service.pk)})
    yield get(reverse("order_new"), {"search": "zzz"})
    token = str(uuid.uuid4())
    default = str(services["default"].pk)
    yield post(reverse("order_new"), {"service": default, "form_token": token})
    yield post(reverse("order_new"), {"service": default, "form_token": token, "link": LINK, "quantity": "1"})
    yield post(reverse("order_new"), {"service": default, "form_token": "", "link": "x", "dripfeed": "on"})
    yield post(
        reverse("order_new"), {"service": default, "link": LINK, "quantity": "200000", "form_token": token}
    )
    yield post(reverse("order_new"), {"service": str(services["subscriptions"].pk), "form_token": token})
    yield post(reverse("order_new"), {"service": str(services["custom_comments"].pk), "form_token": token})
    yield post(reverse("order_new"), {"service": "999999", "form_token": token})
    yield post(
        reverse("order_new"), {"service": default, "form_token": token, "link": LINK + "/8", "quantity": "10"}
    )
    price = reverse("order_price")
    yield get(
        price,
        {"service": default, "link": LINK, "quantity": "100", "dripfeed": "on", "runs": "2", "interval": "5"},
    )
    yield get(price, {"service": default, "quantity": "200000"})
    yield get(price, {"service": default, "quantity": "1"})
    yield get(price, {"service": str(services["custom_comments"].pk), "comments": "a\nb"})
    yield get(price, {"service": str(services["package"].pk)})
    yield get(
        price, {"service": str(services["subscriptions"].pk), "username": "x", "min": "10", "max": "20"}
    )
    yield get(price, {"service": "999999"})
    yield get(reverse("order_mass"))
    lines = f"{default}|{LINK}/7|100\nlinea mala\n{services['custom_comments'].pk}|{LINK}|10\n999999|{LINK}|5"
    yield post(reverse("order_mass"), {"orders": lines, "form_token": str(uuid.uuid4())})
    yield post(reverse("order_mass"), {"orders": "", "form_token": ""})
    yield get(reverse("orders"))
    for status in (
        "pending",
        "in_progress",
        "processing",
        "completed",
        "partial",
        "canceled",
        "subscriptions",
    ):
        yield get(reverse("orders"), {"status": status})
    yield get(reverse("orders"), {"q": "zzz"})
    yield get(reverse("orders"), {"page": "2"})  # pages of 4 (see the test): Previous and Next
    for order in orders.values():
        yield get(reverse("order_detail", args=[order.pk]))
        yield get(reverse("order_detail", args=[order.pk]), HTTP_HX_REQUEST="true")
    yield post(reverse("order_cancel", args=[orders["completed"].pk]), {})
    yield post(reverse("order_refill", args=[orders["pending"].pk]), {})
    yield post(reverse("order_refill", args=[orders["partial"].pk]), {})
    yield post(reverse("order_cancel", args=[orders["pending"].pk]), {})
    yield get(reverse("funds"))
    yield post(reverse("funds"), {"amount": ""})
    yield post(reverse("funds"), {"amount": "abc"})
    yield post(reverse("funds"), {"amount": "0.0000001"})
    for payment in shop.payments.values():
        yield get(reverse("payment", args=[payment.pk]))
    yield post(reverse("payment", args=[shop.payments["pending"].pk]), {"action": "cancel"})
    yield post(reverse("payment", args=[shop.payments["pending"].pk]), {"action": "cancel"})
    yield get(reverse("transactions"))
    yield get(reverse("transactions"), {"page": "2"})
    for kind in ("deposit", "charge", "refund", "adjustment"):
        yield get(reverse("transactions"), {"kind": kind})
    yield get(reverse("api_page"))
    yield post(reverse("api_new_key"), {})
    User.objects.filter(pk=shop.customer.user.pk).update(api_enabled=False)
    yield get(reverse("api_page"))
    yield get(reverse("settings"))
    yield post(reverse("settings"), {"language": "xx", "timezone": "Nowhere/City"})
    yield post(reverse("settings"), {"language": "", "timezone": "UTC"})
    yield get(reverse("password_change"))
    yield post(reverse("password_change"), {"old_password": "x", "new_password1": "a", "new_password2": "b"})
    yield get(reverse("services"))
    yield get(reverse("services"), {"q": "zzz"})
    yield get(reverse("api_docs"))
    yield get(reverse("home"))
    yield get(reverse("order_detail", args=[999999]), status=404)


def _public_pages(client: Client) -> Iterator[tuple[str, str]]:
    """(what, text) of every page anyone may see, with its mistakes, and the emails the site sends."""

    def get(url: str, data: dict[str, str] | None = None, status: int = 200) -> tuple[str, str]:
        response = client.get(url, data or {}, follow=True)
        assert response.status_code == status, url
        return f"GET {url}", response.content.decode()

    def post(url: str, data: dict[str, str], status: int = 200) -> tuple[str, str]:
        response = client.post(url, data, follow=True)
        assert response.status_code == status, url
        return f"POST {url} {data}", response.content.decode()

    yield get(reverse("home"))
    yield get(reverse("services"))
    yield get(reverse("services"), {"q": "zzz"})
    yield get(reverse("api_docs"))
    yield get(reverse("login"))
    yield post(reverse("login"), {"username": "alice", "password": "wrong"})
    yield post(reverse("login"), {"username": "alice", "password": "wrong"}, status=429)  # the limit
    yield get(reverse("signup"))
    yield post(reverse("signup"), {"username": "", "email": "bad", "password1": "a", "password2": "b"})
    yield post(
        reverse("signup"),
        {"username": "alice", "email": "alice@example.com", "password1": "password", "password2": "password"},
    )
    yield post(
        reverse("signup"),
        {
            "username": "x" * 151,
            "email": "x" * 250 + "@example.com",
            "password1": "12345",
            "password2": "12345",
        },
    )
    yield post(
        reverse("signup"),
        {"username": "carol", "email": "carol@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    yield get(reverse("signup_confirm", args=[confirmation_token(User.objects.get(username="carol"))]))
    yield get(reverse("signup_sent"))
    yield get(reverse("signup_resend"))
    yield post(reverse("signup_resend"), {"email": "bad"})
    yield get(reverse("signup_confirm", args=["bad-token"]), status=400)
    yield get(reverse("password_reset"))
    yield post(reverse("password_reset"), {"email": "alice@example.com"})
    yield get(reverse("password_reset_confirm", args=["MQ", "bad-token"]))
    yield get(reverse("password_reset_complete"))
    yield get("/no-such-page/", status=404)
    bad_host = client.get(reverse("home"), HTTP_HOST="bad host")
    assert bad_host.status_code == 400
    yield "GET / from a bad host", bad_host.content.decode()
    request = RequestFactory().get("/")
    yield "403.html", render_to_string("403.html", request=request)
    yield "500.html", render_to_string("500.html")  # rendered without a context, as Django does
    with override_settings(SMMPANEL_MAIL_BURST=1, SMMPANEL_MAIL_PER_MINUTE=1):  # too many mails
        yield post(reverse("password_reset"), {"email": "alice@example.com"})
        yield post(reverse("password_reset"), {"email": "alice@example.com"}, status=429)
    for message in mail.outbox:
        yield f"email {message.subject}", f"<p>{message.subject}</p><p>{message.body}</p>"


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_page_is_wholly_in_the_readers_language(
    client: Client, shop: Shop, settings: Any, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    settings.SMMPANEL_LOGIN_BURST = 1  # the second sign-in attempt is refused, with its message
    settings.SMMPANEL_LOGIN_PER_MINUTE = 1
    monkeypatch.setattr(order_views, "PER_PAGE", 4)  # the orders list has pages
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    with translation.override(language):  # for the pages rendered outside a request
        pages = list(_public_pages(client)) + list(_customer_pages(client, shop))
    wrong = ENGLISH if language == "es" else SPANISH
    found = {}
    for what, page in pages:
        if "<html" in page:
            assert f'<html lang="{language}">' in page, what
        text = visible_text(page, shop.typed)
        words = sorted({m.group(0) for m in wrong.finditer(text)})
        if language == "es":
            words += sorted({m.group(0) for m in FORMAL.finditer(text)})
        if words:
            found[what] = words
    assert not found, "\n".join(f"{what}: {words}" for what, words in found.items())


# --- The glossary, the service types, the memos -----------------------------------------------------------

GLOSSARY = {
    "Create an account": "Crear una cuenta",
    "Log in": "Iniciar sesión",
    "Log out": "Cerrar sesión",
    "Sign up": "Registrarse",
    "Create your account": "Crea tu cuenta",
    "Orders": "Pedidos",
    "New order": "Nuevo pedido",
    "Mass order": "Pedido masivo",
    "Balance": "Saldo",
    "Add funds": "Añadir fondos",
    "Charge": "Cargo",
    "Refund": "Reembolso",
    "Transactions": "Movimientos",
    "Dashboard": "Panel",
    "Settings": "Ajustes",
    "Your API key": "Tu clave API",
    "Bank transfer": "Transferencia bancaria",
    "Reference code": "Código de referencia",
    "Runs": "Entregas",
    "Link": "Enlace",
    "Quantity": "Cantidad",
    "Service": "Servicio",
    "Category": "Categoría",
    "Price per 1000": "Precio por 1000",
    "Pending": "Pendiente",
    "In progress": "En curso",
    "Processing": "Procesando",
    "Completed": "Completado",
    "Partial": "Parcial",
    "Canceled": "Cancelado",
    "Active": "Activa",
    "Paused": "Pausada",
    "Expired": "Vencida",
    "Confirmed": "Confirmado",
    "Rejected": "Rechazado",
}


def test_the_glossary_is_kept() -> None:
    with translation.override("es"):
        assert {english: translation.gettext(english) for english in GLOSSARY} == GLOSSARY
        assert translation.pgettext("service option", "Refill") == "Reposición"


def test_every_service_type_has_a_translated_name_on_the_api_docs() -> None:
    from smmpanel.catalog.types import TYPE_LABELS

    assert set(TYPE_LABELS) == set(ServiceType)
    with translation.override("en"):
        assert {t: str(TYPE_LABELS[t]) for t in ServiceType} == {t: t.label for t in ServiceType}
    with translation.override("es"):
        assert str(TYPE_LABELS[ServiceType.CUSTOM_COMMENTS]) == "Comentarios personalizados"


def test_the_panels_own_memos_are_translated_and_an_operators_are_not() -> None:
    from smmpanel.web.views.funds import memo_shown

    with translation.override("es"):
        assert memo_shown("Opening balance") == "Saldo inicial"
        assert memo_shown("Adjustment") == "Ajuste"
        assert memo_shown("Bank transfer SMM-7KQ4XZ2P") == "Transferencia bancaria SMM-7KQ4XZ2P"
        assert memo_shown("Bank transfer") == "Bank transfer"  # typed by an operator: no reference
        assert memo_shown("Welcome bonus") == "Welcome bonus"
    with translation.override("en"):
        assert memo_shown("Bank transfer SMM-7KQ4XZ2P") == "Bank transfer SMM-7KQ4XZ2P"
