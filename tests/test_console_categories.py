"""The console's categories: create, rename (a taken name refused), hide and show, order with up and
down (no JavaScript) and with a whole new order (the drag and drop's endpoint), delete only when
empty; each audited, each refused for support and finance."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from staff import make_staff, signed_in

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog.models import Category, Service

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(db: None) -> Client:
    return signed_in(make_staff("ada", "administrator"))


@pytest.fixture
def three(db: None) -> list[Category]:
    made = [
        Category.objects.create(name=name, sort_order=i) for i, name in enumerate(["Alpha", "Beta", "Gamma"])
    ]
    Service.objects.create(category=made[0], name="Alpha likes", rate=Decimal(1), min=1, max=10)
    return made


def order() -> list[str]:
    return list(Category.objects.order_by("sort_order", "id").values_list("name", flat=True))


def update(client: Client, category: Category, **data: Any) -> Any:
    return client.post(reverse("console:category_update", args=[category.pk]), data)


def test_the_page_lists_categories_with_their_services_and_delete_only_when_empty(admin, three):
    text = admin.get(reverse("console:categories")).content.decode()
    assert text.index('value="Alpha"') < text.index('value="Beta"') < text.index('value="Gamma"')
    assert reverse("console:category_delete", args=[three[1].pk]) in text
    assert reverse("console:category_delete", args=[three[0].pk]) not in text  # it has a service
    assert f'href="{reverse("console:services")}?category={three[0].pk}">1<' in text


def test_create_and_rename_with_a_taken_name_refused(admin, three):
    assert admin.post(reverse("console:category_create"), {"name": "  Delta   news "}).status_code == 302
    assert order()[-1] == "Delta news"
    answer = admin.post(reverse("console:category_create"), {"name": "beta"})
    assert answer.status_code == 400 and "There is already a category named" in answer.content.decode()
    answer = update(admin, three[2], action="rename", name="ALPHA")
    assert answer.status_code == 400 and Category.objects.get(pk=three[2].pk).name == "Gamma"
    answer = update(admin, three[2], action="rename", name="  ")
    assert answer.status_code == 400
    assert update(admin, three[2], action="rename", name="Gamma views").status_code == 302
    assert Category.objects.get(pk=three[2].pk).name == "Gamma views"
    record = AuditRecord.objects.get(action="category.rename")
    assert (record.before, record.after) == ({"name": "Gamma"}, {"name": "Gamma views"})
    assert AuditRecord.objects.filter(action="category.create").count() == 1


def test_up_and_down(admin, three):
    update(admin, three[2], action="up")
    assert order() == ["Alpha", "Gamma", "Beta"]
    update(admin, three[0], action="down")
    assert order() == ["Gamma", "Alpha", "Beta"]
    update(admin, three[2], action="up")  # first already: stays first
    assert order() == ["Gamma", "Alpha", "Beta"]
    update(admin, three[1], action="down")  # last already
    assert order() == ["Gamma", "Alpha", "Beta"]
    record = AuditRecord.objects.filter(action="category.up").order_by("id").first()
    assert (record.before, record.after) == ({"place": 3}, {"place": 2})


def test_a_new_order_from_the_drag_and_drop(admin, three):
    ids = f"{three[1].pk},{three[2].pk},{three[0].pk}"
    answer = admin.post(reverse("console:categories_order"), {"order": ids}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200 and answer.json() == {"order": [three[1].pk, three[2].pk, three[0].pk]}
    assert order() == ["Beta", "Gamma", "Alpha"]
    assert AuditRecord.objects.filter(action="category.reorder").count() == 1
    for bad in (f"{three[1].pk},{three[2].pk}", f"{three[1].pk},{three[1].pk},{three[0].pk}", "x,1,2"):
        answer = admin.post(
            reverse("console:categories_order"), {"order": bad}, HTTP_ACCEPT="application/json"
        )
        assert answer.status_code == 400 and "every category once" in answer.json()["error"]
    assert order() == ["Beta", "Gamma", "Alpha"]
    answer = admin.post(
        reverse("console:categories_order"), {"order": ids.replace(",", ", ")}
    )  # a form, no JS
    assert answer.status_code == 302 and order() == ["Beta", "Gamma", "Alpha"]


def test_hide_show_and_delete(admin, three, client):
    update(admin, three[1], action="hide")
    assert not Category.objects.get(pk=three[1].pk).enabled
    update(admin, three[1], action="show")
    assert Category.objects.get(pk=three[1].pk).enabled
    answer = admin.post(reverse("console:category_delete", args=[three[0].pk]))
    assert answer.status_code == 400 and "cannot be deleted" in answer.content.decode()
    assert Category.objects.filter(pk=three[0].pk).exists()
    assert admin.post(reverse("console:category_delete", args=[three[1].pk])).status_code == 302
    assert order() == ["Alpha", "Gamma"]
    assert AuditRecord.objects.get(action="category.delete").before == {"name": "Beta", "enabled": True}
    assert update(admin, three[2], action="explode").status_code == 400


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_may_not(role, three):
    client = signed_in(make_staff("sam", role))
    assert client.get(reverse("console:categories")).status_code == 403
    assert client.post(reverse("console:category_create"), {"name": "New"}).status_code == 403
    assert update(client, three[0], action="rename", name="X").status_code == 403
    assert client.post(reverse("console:category_delete", args=[three[1].pk])).status_code == 403
    assert client.post(reverse("console:categories_order"), {"order": ""}).status_code == 403
    assert order() == ["Alpha", "Beta", "Gamma"] and not AuditRecord.objects.exists()
