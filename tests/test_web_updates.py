"""The customers' Updates page (/updates/): the catalogue's changes grouped by day, newest first, in
the reader's language with the service's name in it, prices in the site's money format; changes
made in the console appear there; a hidden category's do not; older than 90 days are not shown."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from staff import make_staff, signed_in

from smmpanel.catalog import updates
from smmpanel.catalog.models import Category, Service

pytestmark = pytest.mark.django_db
NOW = datetime.now(UTC)
NOON = (NOW - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)  # yesterday's


@pytest.fixture
def likes(db: None) -> Service:
    category = Category.objects.create(name="Likes")
    return Service.objects.create(
        category=category,
        name="Real likes",
        names={"es": "Me gusta reales"},
        rate=Decimal("1.5"),
        min=1,
        max=10,
    )


def items(text: str) -> list[tuple[str, str]]:
    return re.findall(r'<li data-service="(\d+)" data-kind="(\w+)">', text)


def test_changes_grouped_by_day_newest_first_in_english_and_spanish(client: Client, likes: Service) -> None:
    updates.record(likes, "new", "import", NOON - timedelta(days=3))
    updates.record(
        likes, "price", "sync", NOON - timedelta(days=1), old_rate=Decimal("1.5"), new_rate=Decimal("1234.25")
    )
    updates.record(likes, "disabled", "loss_guard", NOON - timedelta(hours=1))
    updates.record(likes, "enabled", "console", NOON)
    english = client.get(reverse("updates"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert [kind for _id, kind in items(english)] == ["enabled", "disabled", "price", "new"]
    days = re.findall(r'<time datetime="([\d-]+)">', english)
    assert days == [f"{NOON - timedelta(days=d):%Y-%m-%d}" for d in (0, 1, 3)]
    assert "Price changed" in english and "from 1.50 USD to 1,234.25 USD" in english
    assert f"#{likes.pk} Real likes" in english and "New service" in english and "Enabled again" in english
    spanish = client.get(reverse("updates"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert f"#{likes.pk} Me gusta reales" in spanish and "Real likes" not in spanish
    assert reverse("updates") in client.get(reverse("services")).content.decode()  # linked from the site


def test_hidden_categories_and_old_changes_are_not_shown(client: Client, likes: Service) -> None:
    updates.record(likes, "new", "import", NOW - timedelta(days=91))
    assert items(client.get(reverse("updates")).content.decode()) == []
    assert "No changes lately." in client.get(reverse("updates")).content.decode()
    updates.record(likes, "new", "import", NOW)
    Category.objects.filter(pk=likes.category_id).update(enabled=False)
    assert items(client.get(reverse("updates")).content.decode()) == []


def test_a_console_reprice_appears_on_the_page(client: Client, likes: Service) -> None:
    admin = signed_in(make_staff("ada", "administrator"))
    data = {"action": "reprice", "mode": "set", "value": "2", "services": [str(likes.pk)]}
    admin.post(reverse("console:services_bulk"), data)
    text = client.get(reverse("updates")).content.decode()
    assert items(text) == [(str(likes.pk), "price")] and "from 1.50 USD to 2.00 USD" in text
