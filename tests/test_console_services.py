"""The console's services: the list with cost and margin, its filters, each bulk action with its
figures, refusals that change nothing, one service's edit, role checks, audit records and the
Updates customers are told about; the price list and order form in the reader's language."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from staff import make_staff, signed_in

from smmpanel.accounts.models import AuditRecord
from smmpanel.catalog.models import Category, Provider, ProviderService, Service, ServiceUpdate
from smmpanel.catalog.types import ServiceType

pytestmark = pytest.mark.django_db
D = Decimal


class Shop:
    """Two categories; three services bought from a provider (costs 1.00, 0.33, 2.00) and one
    manual service without a cost; a second provider for fallbacks."""

    def __init__(self) -> None:
        self.likes = Category.objects.create(name="Likes", sort_order=1)
        self.views = Category.objects.create(name="Views", sort_order=2)
        self.acme = Provider.objects.create(name="Acme", url="http://acme.test/api/v2", api_key="k")
        self.other = Provider.objects.create(name="Other", url="http://other.test/api/v2", api_key="k")
        self.a = self._bought("Likes A", self.likes, "101", cost="1.00", price="1.50")
        self.b = self._bought("Likes B", self.likes, "102", cost="0.33", price="0.50", max_=100)
        self.c = self._bought("Views C", self.views, "103", cost="2.00", price="1.80")  # losing money
        self.manual = Service.objects.create(
            category=self.likes, name="Manual likes", rate=D("3"), min=1, max=1000
        )
        self.elsewhere = ProviderService.objects.create(
            provider=self.other,
            external_id="9",
            name="Other likes",
            type="default",
            rate=D("1.1"),
            min=1,
            max=9,
        )

    def _bought(
        self, name: str, category: Category, external: str, *, cost: str, price: str, max_: int = 1000
    ) -> Service:
        listed = ProviderService.objects.create(
            provider=self.acme,
            external_id=external,
            name=name,
            type="default",
            rate=D(cost),
            min=10,
            max=max_,
        )
        return Service.objects.create(
            category=category,
            name=name,
            rate=D(price),
            min=10,
            max=max_,
            refill=True,
            provider=self.acme,
            provider_service=listed,
        )


@pytest.fixture
def shop(db: None) -> Shop:
    return Shop()


@pytest.fixture
def admin(db: None) -> Client:
    return signed_in(make_staff("ada", "administrator"))


def rate(service: Service) -> Decimal:
    return Service.objects.get(pk=service.pk).rate


def rows(response: Any) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-service="(\d+)"', response.content.decode())]


def bulk(client: Client, data: dict[str, Any], query: str = "") -> Any:
    return client.post(reverse("console:services_bulk") + query, data)


def services(*picked: Service) -> list[str]:
    return [str(s.pk) for s in picked]


# --- The list --------------------------------------------------------------------------------


def test_the_list_shows_cost_price_margin_and_options(admin, shop):
    text = admin.get(reverse("console:services")).content.decode()
    row = re.search(rf'<tr data-service="{shop.a.pk}">(.*?)</tr>', text, re.S).group(1)
    assert ">1.00<" in row and ">1.50<" in row  # cost and price, every decimal they have
    assert "0.50 <" in row and "(33.3 %)" in row  # margin: amount and percent of the price
    assert "Acme" in row and "#101" in row and 'data-option="refill"' in row
    losing = re.search(rf'<tr data-service="{shop.c.pk}" class="losing">(.*?)</tr>', text, re.S).group(1)
    assert "-0.20 <" in losing and "Losing money" in losing
    manual = re.search(rf'<tr data-service="{shop.manual.pk}">(.*?)</tr>', text, re.S).group(1)
    assert "—" in manual  # no cost, no margin
    assert reverse("console:services") in text and reverse("console:categories") in text  # menu


def test_the_filters_and_the_search(admin, shop):
    page = reverse("console:services")
    assert rows(admin.get(page, {"category": shop.views.pk})) == [shop.c.pk]
    assert set(rows(admin.get(page, {"provider": shop.acme.pk}))) == {shop.a.pk, shop.b.pk, shop.c.pk}
    assert rows(admin.get(page, {"losing": "on"})) == [shop.c.pk]
    assert rows(admin.get(page, {"q": f"#{shop.b.pk}"})) == [shop.b.pk]
    assert rows(admin.get(page, {"q": "manual"})) == [shop.manual.pk]
    Service.objects.filter(pk=shop.a.pk).update(enabled=False)
    assert rows(admin.get(page, {"state": "disabled"})) == [shop.a.pk]
    assert rows(admin.get(page, {"type": ServiceType.PACKAGE})) == []


def test_losing_money_counts_the_providers_currency_at_its_rate(admin, shop):
    Provider.objects.filter(pk=shop.acme.pk).update(currency="EUR", exchange_rate=D("1.6"))
    # a: 1.00 EUR = 1.60 > 1.50; b: 0.33 EUR = 0.528 > 0.50; c: 2.00 EUR = 3.20 > 1.80
    assert set(rows(admin.get(reverse("console:services"), {"losing": "on"}))) == {
        shop.a.pk,
        shop.b.pk,
        shop.c.pk,
    }
    Provider.objects.filter(pk=shop.acme.pk).update(exchange_rate=D("0.95"))
    assert rows(admin.get(reverse("console:services"), {"losing": "on"})) == [
        shop.c.pk
    ]  # only 2.00 EUR = 1.90 > 1.80


def test_hostile_names_are_shown_as_text(admin, shop, client):
    hostile = '"><script>alert(1)</script>'
    Service.objects.filter(pk=shop.a.pk).update(name=hostile, names={"es": hostile})
    Category.objects.filter(pk=shop.likes.pk).update(name=hostile)
    for page in (
        reverse("console:services"),
        reverse("console:service", args=[shop.a.pk]),
        reverse("console:categories"),
    ):
        text = admin.get(page).content.decode()
        assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text


@pytest.mark.parametrize("role", ["support", "finance"])
def test_support_and_finance_may_not(role, shop):
    client = signed_in(make_staff("sam", role))
    assert client.get(reverse("console:services")).status_code == 403
    assert client.get(reverse("console:service", args=[shop.a.pk])).status_code == 403
    answer = bulk(client, {"action": "disable", "services": services(shop.a)})
    assert answer.status_code == 403 and Service.objects.get(pk=shop.a.pk).enabled
    assert client.get(reverse("console:categories")).status_code == 403


# --- Bulk actions ------------------------------------------------------------------------------


def test_percent_up_ten_percent_of_1_50_is_1_65_with_its_audit_and_update(admin, shop):
    answer = bulk(
        admin,
        {"action": "reprice", "mode": "up", "value": "10", "step": "0.01", "services": services(shop.a)},
    )
    assert answer.status_code == 302
    assert rate(shop.a) == D("1.65") and rate(shop.b) == D("0.50")
    record = AuditRecord.objects.get(action="service.bulk_reprice")
    assert record.before == {str(shop.a.pk): {"rate": "1.500000"}}
    assert record.after == {str(shop.a.pk): {"rate": "1.650000"}}
    update = ServiceUpdate.objects.get(service=shop.a)
    assert (update.kind, update.old_rate, update.new_rate, update.source) == (
        "price",
        D("1.5"),
        D("1.65"),
        "console",
    )
    assert "1 service changed." in admin.get(reverse("console:services")).content.decode()


def test_markup_over_cost_rounds_up_to_the_step_and_leaves_out_what_has_no_cost(admin, shop):
    picked = services(shop.a, shop.b, shop.manual)
    bulk(
        admin,
        {
            "action": "reprice",
            "mode": "markup",
            "value": "40",
            "markup_kind": "percent",
            "step": "0.05",
            "services": picked,
        },
    )
    assert rate(shop.a) == D("1.40")  # 1.00 × 1.4
    assert rate(shop.b) == D("0.50")  # 0.33 × 1.4 = 0.462, up to 0.50 (unchanged)
    assert rate(shop.manual) == D("3")
    text = admin.get(reverse("console:services")).content.decode()
    assert "1 service changed." in text and f"#{shop.manual.pk}: no cost known" in text
    bulk(
        admin,
        {
            "action": "reprice",
            "mode": "markup",
            "value": "0.25",
            "markup_kind": "fixed",
            "step": "0.1",
            "services": picked,
        },
    )
    assert rate(shop.a) == D("1.30") and rate(shop.b) == D("0.60")  # 1.25 → 1.3; 0.58 → 0.6


def test_percent_down_and_set_a_price(admin, shop):
    bulk(
        admin,
        {
            "action": "reprice",
            "mode": "down",
            "value": "20",
            "step": "0.01",
            "services": services(shop.a, shop.c),
        },
    )
    assert rate(shop.a) == D("1.20") and rate(shop.c) == D("1.44")
    bulk(admin, {"action": "reprice", "mode": "set", "value": "2.345", "services": services(shop.a, shop.b)})
    assert rate(shop.a) == D("2.345") and rate(shop.b) == D("2.345")
    assert ServiceUpdate.objects.filter(kind="price").count() == 4


def test_set_min_max_refuses_the_services_it_would_break_and_changes_the_others(admin, shop):
    bulk(admin, {"action": "limits", "min": "500", "services": services(shop.a, shop.b)})
    a, b = Service.objects.get(pk=shop.a.pk), Service.objects.get(pk=shop.b.pk)
    assert (a.min, a.max) == (500, 1000)
    assert (b.min, b.max) == (10, 100)  # its max is 100: left as it was
    text = admin.get(reverse("console:services")).content.decode()
    assert f"#{shop.b.pk}: min 500 would be above max 100" in text
    bulk(admin, {"action": "limits", "min": "20", "max": "50", "services": services(shop.b)})
    b = Service.objects.get(pk=shop.b.pk)
    assert (b.min, b.max) == (20, 50)
    record = AuditRecord.objects.filter(action="service.bulk_limits").order_by("id").last()
    assert record.before == {str(shop.b.pk): {"min": 10, "max": 100}}


def test_enable_disable_and_move_record_updates_and_audits(admin, shop):
    bulk(admin, {"action": "disable", "services": services(shop.a, shop.b)})
    assert not Service.objects.filter(pk__in=[shop.a.pk, shop.b.pk], enabled=True).exists()
    assert ServiceUpdate.objects.filter(kind="disabled").count() == 2
    bulk(admin, {"action": "enable", "services": services(shop.a, shop.c)})  # c was enabled already
    assert list(ServiceUpdate.objects.filter(kind="enabled").values_list("service_id", flat=True)) == [
        shop.a.pk
    ]
    bulk(admin, {"action": "move", "category": shop.views.pk, "services": services(shop.a)})
    assert Service.objects.get(pk=shop.a.pk).category == shop.views
    actions = list(AuditRecord.objects.values_list("action", flat=True).order_by("id"))
    assert actions == ["service.bulk_disable", "service.bulk_enable", "service.bulk_move"]


def test_every_service_matching_the_filter_reprices_a_category(admin, shop):
    query = f"?category={shop.likes.pk}"
    bulk(admin, {"action": "reprice", "mode": "up", "value": "100", "step": "0.01", "every": "on"}, query)
    assert (rate(shop.a), rate(shop.b), rate(shop.manual)) == (D("3.00"), D("1.00"), D("6.00"))
    assert rate(shop.c) == D("1.80")  # another category


@pytest.mark.parametrize(
    "data, said",
    [
        ({"action": "reprice", "mode": "set", "value": "-1"}, "not negative"),
        ({"action": "reprice", "mode": "down", "value": "100"}, "less than 100"),
        ({"action": "reprice", "mode": "up", "value": "abc"}, "Enter a number"),
        ({"action": "move", "category": "999999"}, "Choose a category that exists"),
        ({"action": "limits", "min": "50", "max": "10"}, "The min is above the max"),
        ({"action": "limits"}, "Enter a min, a max or both"),
        ({"action": "explode"}, "Select a valid choice"),
    ],
)
def test_bad_input_is_refused_with_a_400_and_changes_nothing(admin, shop, data, said):
    answer = bulk(admin, {**data, "services": services(shop.a, shop.b)})
    assert answer.status_code == 400
    assert said in answer.content.decode() and "Nothing was changed." in answer.content.decode()
    assert (rate(shop.a), rate(shop.b)) == (D("1.5"), D("0.5"))
    assert not AuditRecord.objects.exists() and not ServiceUpdate.objects.exists()


def test_no_service_selected_is_refused(admin, shop):
    answer = bulk(admin, {"action": "disable"})
    assert answer.status_code == 400 and "Select at least one service." in answer.content.decode()
    answer = bulk(admin, {"action": "disable", "services": ["x1"]})
    assert answer.status_code == 400 and Service.objects.filter(enabled=False).count() == 0


# --- One service ---------------------------------------------------------------------------------


def edit_data(service: Service, **changes: Any) -> dict[str, Any]:
    data = {
        "name": service.name,
        "description": "",
        "name_es": "",
        "description_es": "",
        "category": service.category_id,
        "type": service.type,
        "rate": str(service.rate),
        "min": service.min,
        "max": service.max,
        "average_minutes": "",
        "refill_days": service.refill_days,
        "on_refusal": service.on_refusal,
        "stuck_after_minutes": "",
        "provider": service.provider_id or "",
        "provider_service": service.provider_service_id or "",
        "fallback_service": "",
        "enabled": "on",
    }
    if service.refill:
        data["refill"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_edit_a_service_in_each_language_with_its_audit_and_update(admin, shop):
    page = reverse("console:service", args=[shop.a.pk])
    assert "Name (Español)" in admin.get(page).content.decode()
    data = edit_data(
        shop.a, name_es="Me gusta A", description_es="Reales", rate="1.70", average_minutes="150"
    )
    data["fallback_service"] = shop.elsewhere.pk
    assert admin.post(page, data).status_code == 302
    service = Service.objects.get(pk=shop.a.pk)
    assert service.names == {"es": "Me gusta A"} and service.descriptions == {"es": "Reales"}
    assert (service.rate, service.average_minutes, service.fallback_service) == (
        D("1.7"),
        150,
        shop.elsewhere,
    )
    record = AuditRecord.objects.get(action="service.edit")
    assert record.before["rate"] == "1.500000" and record.after["rate"] == "1.700000"
    assert ServiceUpdate.objects.get(service=shop.a).new_rate == D("1.7")
    admin.post(
        page, edit_data(service, rate="1.70", enabled=None, name_es="Me gusta A", description_es="Reales")
    )
    assert not Service.objects.get(pk=shop.a.pk).enabled
    assert ServiceUpdate.objects.filter(service=shop.a, kind="disabled").count() == 1


def test_edit_refusals_change_nothing(admin, shop, alice, api):
    page = reverse("console:service", args=[shop.a.pk])
    same = ProviderService.objects.create(
        provider=shop.acme, external_id="7", name="x", type="default", rate=1, min=1, max=9
    )
    answer = admin.post(page, {**edit_data(shop.a, rate="9"), "fallback_service": same.pk})
    assert answer.status_code == 400  # the same provider's service is not offered as a fallback
    answer = admin.post(page, edit_data(shop.a, rate="9", min="2000"))
    assert answer.status_code == 400 and "The min is above the max." in answer.content.decode()
    answer = admin.post(page, edit_data(shop.a, rate="-1"))
    assert answer.status_code == 400
    api.post("v2", key=alice.key, action="add", service=shop.a.pk, link="x.com/a", quantity=100)
    answer = admin.post(page, edit_data(shop.a, type=ServiceType.PACKAGE, rate="9"))
    service = Service.objects.get(pk=shop.a.pk)
    assert service.type == ServiceType.DEFAULT  # a service with orders keeps its type
    assert rate(shop.a) == D("9")  # the rest of that form was saved
    assert not AuditRecord.objects.filter(after__type__isnull=False).exists()


# --- The customer's side -------------------------------------------------------------------------


def test_the_price_list_and_the_order_form_show_the_readers_language(client, shop, alice, api):
    Service.objects.filter(pk=shop.a.pk).update(
        names={"es": "Me gusta A (es)"},
        descriptions={"es": "Descripción es"},
        description="English words",
        average_minutes=150,
    )
    spanish = client.get(reverse("services"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Me gusta A (es)" in spanish and "Descripción es" in spanish and "≈ 2 h 30 min" in spanish
    english = client.get(reverse("services"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Likes A" in english and "Me gusta A" not in english and "English words" in english
    client.force_login(alice.user)
    form = client.get(
        reverse("order_new"), {"service": shop.a.pk}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Me gusta A (es)" in form and "≈ 2 h 30 min" in form
    found = client.get(reverse("services"), {"q": "gusta"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert re.findall(r'<tr data-service="(\d+)"', found) == [str(shop.a.pk)]  # searched in Spanish too
    found = client.get(reverse("order_new"), {"search": "gusta"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert f'value="{shop.a.pk}"' in found
    listed = api.post("v2", key=alice.key, action="services")
    assert {item["name"] for item in listed if item["service"] == shop.a.pk} == {
        "Likes A"
    }  # the API's contract


def test_every_service_of_a_large_catalogue_at_once(admin, shop):
    rows_ = [
        Service(category=shop.views, name=f"Views {i}", rate=D("1.00"), min=1, max=10) for i in range(1200)
    ]
    Service.objects.bulk_create(rows_)
    bulk(
        admin,
        {"action": "reprice", "mode": "up", "value": "5", "step": "0.01", "every": "on"},
        f"?category={shop.views.pk}",
    )
    assert Service.objects.filter(category=shop.views, rate=D("1.05")).count() == 1200
    assert rate(shop.c) == D("1.89")
    assert AuditRecord.objects.get(action="service.bulk_reprice").after[str(shop.c.pk)] == {
        "rate": "1.890000"
    }
