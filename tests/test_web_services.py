"""The public price list: enabled services by category, filters, the reader's own rates."""

import re
from decimal import Decimal

import pytest
from conftest import Catalogue, Customer
from django.test import Client
from django.urls import reverse

from smmpanel.catalog.models import Category, CustomRate, Service
from smmpanel.catalog.types import ServiceType


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def listed(text: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr data-service="(\d+)">', text)]


@pytest.fixture
def hidden_category(catalogue: Catalogue) -> Service:
    closed = Category.objects.create(name="Closed", sort_order=3, enabled=False)
    return Service.objects.create(category=closed, name="Hidden", rate=Decimal("2"), min=1, max=10)


def test_the_price_list_is_public_and_shows_only_what_is_on_sale(
    client: Client, catalogue: Catalogue, hidden_category: Service
) -> None:
    response = client.get(reverse("services"))
    assert response.status_code == 200
    text = page(response)
    assert listed(text) == [catalogue.default.pk, catalogue.package.pk]
    assert "Instagram Followers" in text and "Packs" in text and "Closed" not in text
    assert text.index("Instagram Followers") < text.index("Packs")  # by category order
    row = re.search(rf'<tr data-service="{catalogue.default.pk}">(.*?)</tr>', text, re.S)
    assert row
    cells = row.group(1)
    assert "0.90 USD" in cells and ">50<" in cells and ">10000<" in cells
    assert (
        'data-option="dripfeed"' in cells
        and 'data-option="refill"' in cells
        and 'data-option="cancel"' in cells
    )
    assert "Real-looking" in cells  # the description
    package = re.search(rf'<tr data-service="{catalogue.package.pk}">(.*?)</tr>', text, re.S)
    assert package and "4.50 USD" in package.group(1) and "per package" in package.group(1)
    assert "data-option" not in package.group(1)
    assert "/order/?service=" not in text  # ordering needs an account
    assert reverse("signup") in text


def test_logged_in_customers_get_order_links_and_their_own_rate(
    client: Client, catalogue: Catalogue, alice: Customer, bob: Customer
) -> None:
    CustomRate.objects.create(user=alice.user, service=catalogue.default, rate=Decimal("0.75"))
    client.force_login(alice.user)
    text = page(client.get(reverse("services")))
    assert f'href="/order/?service={catalogue.default.pk}"' in text
    assert "0.75 USD" in text and "0.90 USD" not in text and "your price" in text
    client.force_login(bob.user)
    text = page(client.get(reverse("services")))
    assert "0.90 USD" in text and "0.75 USD" not in text


def test_filter_by_category(client: Client, catalogue: Catalogue) -> None:
    packs = catalogue.package.category_id
    text = page(client.get(reverse("services"), {"category": packs}))
    assert listed(text) == [catalogue.package.pk]
    assert f'<option value="{packs}" selected>' in text
    assert listed(page(client.get(reverse("services"), {"category": "x"}))) == [
        catalogue.default.pk,
        catalogue.package.pk,
    ]
    assert "No service matches" in page(client.get(reverse("services"), {"category": "999999"}))


def test_search_by_name_category_or_id(client: Client, catalogue: Catalogue) -> None:
    url = reverse("services")
    assert listed(page(client.get(url, {"q": "starter"}))) == [catalogue.package.pk]
    assert listed(page(client.get(url, {"q": "instagram"}))) == [catalogue.default.pk]
    assert listed(page(client.get(url, {"q": str(catalogue.default.pk)}))) == [catalogue.default.pk]
    assert listed(page(client.get(url, {"q": "Old"}))) == []  # disabled services never show
    text = page(client.get(url, {"q": "<script>x</script>"}))
    assert "No service matches" in text and "<script>x</script>" not in text


def test_names_and_descriptions_are_escaped(client: Client, catalogue: Catalogue) -> None:
    Service.objects.filter(pk=catalogue.default.pk).update(
        name='<img src=x onerror="alert(1)">', description="<script>alert(2)</script>"
    )
    text = page(client.get(reverse("services")))
    assert "<img src=x" not in text and "<script>alert(2)" not in text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in text


def test_every_type_is_listed_with_its_type_rate(client: Client, db: None) -> None:
    category = Category.objects.create(name="All types")
    for n, service_type in enumerate(ServiceType):
        Service.objects.create(
            category=category, name=f"S{n}", type=service_type, rate=Decimal("1.5"), min=1, max=5
        )
    text = page(client.get(reverse("services")))
    assert len(listed(text)) == len(ServiceType)
    assert text.count('USD <span class="muted small-text stack-hidden">per package<') == 2


def test_the_price_list_in_spanish(client: Client, catalogue: Catalogue) -> None:
    response = client.get(reverse("services"), HTTP_ACCEPT_LANGUAGE="es")
    assert '<html lang="es">' in page(response)
    assert response["Content-Language"] == "es"
