"""Accessibility basics on every page: labelled controls, one heading, a language, a skip link,
and text colours that meet WCAG AA contrast (4.5:1) on their backgrounds."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import Catalogue, Customer
from django.test import Client

import smmpanel
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import ServiceType

STYLESHEET = Path(smmpanel.__file__).parent / "web" / "static" / "web" / "css" / "site.css"
UNLABELLED_TYPES = {"hidden", "submit", "button", "reset", "image"}


class Page(HTMLParser):
    """What the checks need from a page: its controls, labels, headings and images."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.wrapped: set[int] = set()  # controls inside a <label>
        self.h1 = 0
        self.images_without_alt = 0
        self.html_lang: str | None = None
        self.skip_link = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(str(a["for"]))
        elif tag in {"input", "select", "textarea"} and (a.get("type") or "text") not in UNLABELLED_TYPES:
            if self.label_depth:
                self.wrapped.add(len(self.controls))
            self.controls.append(a)
        elif tag == "h1":
            self.h1 += 1
        elif tag == "img" and "alt" not in a:
            self.images_without_alt += 1
        elif tag == "a" and a.get("href") == "#main":
            self.skip_link = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1

    def unlabelled(self) -> list[dict[str, str | None]]:
        return [
            control
            for n, control in enumerate(self.controls)
            if n not in self.wrapped
            and control.get("id") not in self.label_for
            and not control.get("aria-label")
            and not control.get("aria-labelledby")
        ]


def parsed(client: Client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, url
    page = Page()
    page.feed(response.content.decode())
    return page


PUBLIC = ["/", "/services/", "/api/docs/", "/login/", "/signup/", "/signup/resend/", "/password/reset/"]
CUSTOMER = [
    "/dashboard/",
    "/order/",
    "/order/mass/",
    "/orders/",
    "/funds/",
    "/transactions/",
    "/api/",
    "/settings/",
    "/password/change/",
]


def _every_type(catalogue: Catalogue) -> list[str]:
    """The order form once for a service of every type: each shows its own fields."""
    urls = []
    for type_ in ServiceType:
        service = Service.objects.create(
            category=catalogue.default.category, name=f"A {type_.label}", type=type_, rate=1, min=1, max=100
        )
        urls.append(f"/order/?service={service.pk}")
    return urls


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_every_control_on_every_page_has_a_label(
    client: Client, alice: Customer, catalogue: Catalogue, language: str
) -> None:
    client.cookies["django_language"] = language
    for url in PUBLIC:
        page = parsed(client, url)
        assert not page.unlabelled(), (url, page.unlabelled())
    client.force_login(alice.user)
    for url in CUSTOMER + _every_type(catalogue):
        page = parsed(client, url)
        assert page.controls or url == "/dashboard/" or url == "/transactions/", url
        assert not page.unlabelled(), (url, page.unlabelled())


@pytest.mark.django_db
def test_every_page_has_one_heading_a_language_and_a_skip_link(
    client: Client, alice: Customer, catalogue: Catalogue
) -> None:
    pages = [(url, parsed(client, url)) for url in PUBLIC]
    client.force_login(alice.user)
    pages += [(url, parsed(client, url)) for url in CUSTOMER]
    for url, page in pages:
        assert page.h1 == 1, url
        assert page.html_lang in {"en", "es"}, url
        assert page.skip_link, url
        assert page.images_without_alt == 0, url


def _colours() -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", STYLESHEET.read_text()))


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    high, low = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# Every text colour of the stylesheet on each background it is used on.
PAIRS = [
    ("ink", "bg"),
    ("ink", "card"),
    ("muted", "card"),
    ("muted", "bg"),
    ("brand", "card"),
    ("brand", "bg"),
    ("brand", "brand-soft"),
    ("brand-ink", "brand"),
    ("ok", "ok-soft"),
    ("warn", "warn-soft"),
    ("bad", "bad-soft"),
    ("bad", "card"),
]


@pytest.mark.parametrize(("foreground", "background"), PAIRS)
def test_text_colours_meet_wcag_aa_contrast(foreground: str, background: str) -> None:
    colours = _colours()
    ratio = contrast(colours[foreground], colours[background])
    assert ratio >= 4.5, f"--{foreground} on --{background}: {ratio:.2f}:1"


def test_the_contrast_check_can_fail() -> None:
    assert contrast("#777777", "#ffffff") < 4.5 < contrast("#000000", "#ffffff")


def test_the_label_check_can_fail() -> None:
    page = Page()
    page.feed(
        '<label for="a">A</label><input id="a"><label>B <input name="b"></label>'
        '<input name="c" aria-label="C"><input type="hidden" name="d"><textarea name="e"></textarea>'
    )
    assert [control.get("name") for control in page.unlabelled()] == ["e"]
