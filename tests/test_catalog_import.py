"""Importing a provider's catalogue and following what changes upstream."""

from decimal import Decimal

import pytest
from django.utils import timezone

from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.catalog.pricing import PERCENT, PriceRule
from smmpanel.ledger.money import PLACES, with_markup
from smmpanel.providers import importing, listing
from smmpanel.providers.client import UpstreamService


def listed(external_id, rate, *, name=None, category="IG Followers", type_="default", min_=10, max_=1000):
    return UpstreamService(
        external_id=str(external_id),
        name=name or f"Service {external_id}",
        type=type_,
        category=category,
        rate=Decimal(rate),
        min=min_,
        max=max_,
        dripfeed=True,
        refill=False,
        cancel=True,
        description="",
        raw={"desc": f"upstream desc {external_id}"},
    )


@pytest.fixture
def provider(db):
    return Provider.objects.create(name="Upstream", url="https://up.example/api/v2")


def at(percent: str) -> PriceRule:
    """A percent markup with no rounding past the ledger's six places."""
    return PriceRule(PERCENT, Decimal(percent), PLACES)


def read(provider, items):
    return listing.record(provider, items, timezone.now())


def lines(provider):
    return sorted((line.kind, line.provider_service.external_id) for line in listing.pending(provider))


def test_first_read_stores_the_list_and_import_prices_it(provider):
    read(provider, [listed(1, "1.00"), listed(2, "0.333", category="IG Likes")])
    assert sorted(ProviderService.objects.values_list("external_id", flat=True)) == ["1", "2"]
    assert lines(provider) == []  # a first read only fills the list: the import page chooses from it
    mapping = {"IG Likes": "Instagram Likes"}
    created = importing.import_services(provider, at("25"), category_map=mapping).created
    assert [(s.name, s.rate, s.category.name) for s in created] == [
        ("Service 1", Decimal("1.25"), "IG Followers"),
        ("Service 2", Decimal("0.41625"), "Instagram Likes"),
    ]
    service = created[0]
    assert (service.min, service.max, service.dripfeed, service.cancel) == (10, 1000, True, True)
    assert service.provider == provider and service.description == "upstream desc 1"
    assert importing.import_services(provider, at("25")).created == []  # nothing twice


def test_a_later_read_leaves_lines_for_new_gone_and_repriced_and_sells_on(provider):
    read(provider, [listed(1, "1.00"), listed(2, "2.00")])
    importing.import_services(provider, at("50"))
    read(provider, [listed(1, "1.10"), listed(3, "3.00")])
    assert lines(provider) == [("cost", "1"), ("gone", "2"), ("new", "3")]
    gone = Service.objects.get(provider_service__external_id="2")
    assert gone.enabled  # until the operator accepts the line
    assert Service.objects.get(provider_service__external_id="1").rate == Decimal("1.5")


def test_a_service_whose_cost_passes_its_price_is_disabled(provider):
    read(provider, [listed(1, "1.00")])
    (service,) = importing.import_services(provider, at("10")).created
    result = read(provider, [listed(1, "1.20")])
    service.refresh_from_db()
    assert result.disabled == [service] and result.flagged == []
    assert not service.enabled


def test_unprofitable_services_may_only_be_reported(provider, settings):
    settings.SMMPANEL_DISABLE_UNPROFITABLE = False
    read(provider, [listed(1, "1.00")])
    (service,) = importing.import_services(provider, at("10")).created
    result = read(provider, [listed(1, "1.20")])
    service.refresh_from_db()
    assert result.flagged == [service] and result.disabled == []
    assert service.enabled


def test_a_service_that_comes_back_is_available_again(provider):
    read(provider, [listed(1, "1.00")])
    read(provider, [])
    assert not ProviderService.objects.get().available
    read(provider, [listed(1, "1.00")])
    assert ProviderService.objects.get().available
    assert lines(provider) == [("new", "1")]  # unsold, and listed again: offered as new


def test_a_provider_in_euros_is_priced_in_the_panels_currency(db, settings):
    settings.SMMPANEL_CURRENCY = "USD"
    euro = Provider.objects.create(
        name="Euro", url="https://eu.example/api/v2", currency="EUR", exchange_rate=Decimal("1.10")
    )
    read(euro, [listed(1, "1.00")])
    (service,) = importing.import_services(euro, at("25")).created
    assert service.rate == Decimal("1.375")  # 1.00 EUR is 1.10 USD, plus 25 %
    assert ProviderService.objects.get().rate == Decimal("1.00")  # the list is kept as the provider wrote it
    result = read(euro, [listed(1, "1.26")])  # 1.386 USD: above the price, though 1.26 is not
    service.refresh_from_db()
    assert result.disabled == [service] and not service.enabled


def test_a_provider_in_the_panels_currency_is_never_converted(provider, settings):
    settings.SMMPANEL_CURRENCY = "usd"
    Provider.objects.filter(pk=provider.pk).update(exchange_rate=Decimal("2"))  # a stray rate
    provider.refresh_from_db()
    read(provider, [listed(1, "1.00")])
    (service,) = importing.import_services(provider, at("25")).created
    assert service.rate == Decimal("1.25")


def test_markup_rounding_is_half_up():
    assert with_markup(Decimal("0.000005"), Decimal("0")) == Decimal("0.000005")
    assert with_markup(Decimal("0.000001"), Decimal("50")) == Decimal("0.000002")
    assert with_markup(Decimal("1.000001"), Decimal("-50")) == Decimal("0.500001")


# --- the commands, against a real HTTP upstream ----------------------------

from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from upstream import upstream_fixture  # noqa: E402, F401  (the `upstream` fixture)


@pytest.fixture
def remote(db, upstream):
    return Provider.objects.create(name="Remote", url=upstream.url, api_key=upstream.key, timeout_seconds=2)


def test_provider_import_command(remote, capsys):
    call_command("provider", "import", "Remote", "--markup", "50", "--category-map", "Packs=Paquetes")
    out = capsys.readouterr().out
    assert "imported 3 services from Remote at +50%" in out
    assert sorted(Service.objects.values_list("name", "rate", "category__name")) == [
        ("Comments", Decimal("18"), "Instagram Comments"),
        ("Followers", Decimal("1.35"), "Instagram Followers"),
        ("Starter pack", Decimal("6.75"), "Paquetes"),
    ]
    comments = Service.objects.get(name="Comments")
    assert comments.type == "custom_comments" and comments.provider_service.external_id == "2"


def test_provider_sync_command_shows_the_changes_and_may_accept_them_all(remote, upstream, capsys):
    call_command("provider", "import", "Remote", "--markup", "10")
    upstream.services[0]["rate"] = "5.00"
    del upstream.services[1]
    capsys.readouterr()
    call_command("provider", "sync", "Remote", "--json")
    report = __import__("json").loads(capsys.readouterr().out)
    assert [r["id"] for r in report["gone"]] == ["2"]
    assert [(r["id"], r["before"], r["after"]) for r in report["cost"]] == [
        ("1", {"rate": "0.900000"}, {"rate": "5.000000"})
    ]
    assert [r["name"] for r in report["disabled"]] == ["Followers"]  # the loss guard acts at once
    assert Service.objects.get(name="Comments").enabled  # gone upstream: still sold, until accepted
    call_command("provider", "sync", "Remote", "--json", "--accept-all")
    report = __import__("json").loads(capsys.readouterr().out)
    assert Decimal(report["applied"]["repriced"][0]["to"]) == Decimal("5.5")  # the provider's rule: +10 %
    assert [r["name"] for r in report["applied"]["disabled"]] == ["Comments"]
    assert not Service.objects.get(name="Comments").enabled
    assert Service.objects.get(name="Followers").rate == Decimal("5.5")


@pytest.mark.parametrize(
    "args", [["--markup", "lots"], ["--category-map", "nonsense"], ["--step", "0"], ["--markup", "-5"]]
)
def test_provider_import_refuses_bad_arguments(remote, args):
    with pytest.raises(CommandError):
        call_command("provider", "import", "Remote", *args)
    assert not Service.objects.exists()
