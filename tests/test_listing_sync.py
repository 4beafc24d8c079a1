"""Reading a provider's list makes a diff to decide (providers/listing.py), not changes to what we
sell; deciding its lines (providers/decisions.py) does, and tells customers; the loss guard acts at
once; a failed read changes nothing but the error; the worker reads each list when it is due."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from upstream import upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, ProviderService, Service, ServiceUpdate
from smmpanel.catalog.pricing import PERCENT, PriceRule
from smmpanel.engine.worker import Worker
from smmpanel.providers import decisions, importing, listing
from smmpanel.providers.client import UpstreamService
from smmpanel.providers.models import ListingChange

pytestmark = pytest.mark.django_db

RULE = PriceRule(PERCENT, Decimal(40), Decimal("0.01"))


def item(external_id, rate, *, min_=10, max_=1000, refill=False, cancel=True, name=None, category="IG"):
    return UpstreamService(
        external_id=str(external_id), name=name or f"Service {external_id}", type="default",
        category=category, rate=Decimal(rate), min=min_, max=max_, dripfeed=False, refill=refill,
        cancel=cancel, description="", raw={},
    )  # fmt: skip


@pytest.fixture
def provider():
    return Provider.objects.create(name="Up", url="https://up.example/api/v2")


def read(provider, items, now=None):
    return listing.record(provider, items, now or timezone.now())


def lines(provider):
    return {
        (line.kind, line.provider_service.external_id): (line.before, line.after)
        for line in listing.pending(provider)
    }


def sold(external_id) -> Service:
    return Service.objects.get(provider_service__external_id=external_id)


@pytest.fixture
def selling(provider):
    """Services 1, 2 and 3 sold at +40 %, rounded up to 0.01: 1.40, 2.80, 4.20."""
    read(provider, [item(1, "1.00"), item(2, "2.00"), item(3, "3.00")])
    importing.import_services(provider, RULE)
    return provider


def test_a_read_after_upstream_changes_writes_one_line_per_change_and_sells_on(selling):
    before = {s.pk: (s.rate, s.enabled, s.min, s.max, s.refill) for s in Service.objects.all()}
    read(
        selling,
        [item(1, "1.10"), item(2, "2.00", min_=20, max_=500, refill=True), item(4, "0.5", name="Likes")],
    )
    assert lines(selling) == {
        ("cost", "1"): ({"rate": "1.000000"}, {"rate": "1.100000"}),
        ("limits", "2"): ({"min": 10, "max": 1000}, {"min": 20, "max": 500}),
        ("options", "2"): (
            {"dripfeed": False, "refill": False, "cancel": True},
            {"dripfeed": False, "refill": True, "cancel": True},
        ),
        ("gone", "3"): ({"available": True}, {"available": False}),
        ("new", "4"): (
            {},
            {"name": "Likes", "category": "IG", "type": "default", "rate": "0.500000", "min": 10, "max": 1000,
             "dripfeed": False, "refill": False, "cancel": True},
        ),
    }  # fmt: skip
    assert {s.pk: (s.rate, s.enabled, s.min, s.max, s.refill) for s in Service.objects.all()} == before
    assert ProviderService.objects.get(external_id="1").rate == Decimal("1.10")  # the mirror follows
    assert not ProviderService.objects.get(external_id="3").available
    assert not ServiceUpdate.objects.exclude(source="import").exists()


def test_a_second_read_moves_the_pending_line_and_one_that_puts_it_back_removes_it(selling):
    read(selling, [item(1, "1.10"), item(2, "2.00"), item(3, "3.00")])
    (line,) = ListingChange.objects.filter(state="pending")
    read(selling, [item(1, "1.20"), item(2, "2.00"), item(3, "3.00")])
    line.refresh_from_db()
    assert (line.before, line.after) == ({"rate": "1.000000"}, {"rate": "1.200000"})  # same line, moved
    assert ListingChange.objects.count() == 1
    read(selling, [item(1, "1.0"), item(2, "2.00"), item(3, "3.00")])  # as the panel knew it
    assert not ListingChange.objects.exists()


def test_new_then_gone_before_a_decision_leaves_nothing_and_gone_then_back_too(selling):
    read(selling, [item(1, "1.00"), item(2, "2.00"), item(3, "3.00"), item(9, "9")])
    assert set(lines(selling)) == {("new", "9")}
    read(selling, [item(1, "1.00"), item(2, "2.00")])
    assert set(lines(selling)) == {("gone", "3")}
    read(selling, [item(1, "1.00"), item(2, "2.00"), item(3, "3.00")])
    assert lines(selling) == {}


def test_the_first_read_only_fills_the_list(provider):
    result = read(provider, [item(1, "1"), item(2, "2")])
    assert result.listed == 2 and result.lines == 0 and not ListingChange.objects.exists()
    provider.refresh_from_db()
    assert provider.listing_read_at is not None and provider.listing_error == ""


@pytest.fixture
def olga():
    return User.objects.create_user("olga", is_staff=True, staff_role="administrator")


def test_accepting_some_lines_and_skipping_others_changes_exactly_the_accepted(selling, olga):
    read(selling, [item(1, "1.10"), item(2, "2.50", min_=20, max_=500), item(4, "0.5", name="Likes")])
    by_key = {(line.kind, line.provider_service.external_id): line.pk for line in listing.pending(selling)}
    ours = Category.objects.create(name="Ours")
    now = timezone.now()
    done = decisions.decide(
        selling,
        accept=[by_key["cost", "1"], by_key["gone", "3"], by_key["new", "4"], by_key["limits", "2"]],
        skip=[by_key["cost", "2"]],
        by=olga,
        category=ours,
        now=now,
    )
    assert (len(done.accepted), len(done.skipped), done.refused) == (4, 1, [])
    assert sold("1").rate == Decimal("1.54")  # 1.10 + 40 % = 1.54
    assert sold("2").rate == Decimal("2.80")  # its cost change skipped: the price stays
    assert (sold("2").min, sold("2").max) == (20, 500)
    assert not sold("3").enabled
    likes = sold("4")
    assert (likes.name, likes.rate, likes.category, likes.enabled) == ("Likes", Decimal("0.70"), ours, True)
    assert set(ListingChange.objects.values_list("state", flat=True)) == {"accepted", "skipped"}
    decided = ListingChange.objects.get(pk=by_key["cost", "2"])
    assert (decided.state, decided.decided_by, decided.decided_at) == ("skipped", olga, now)
    told = ServiceUpdate.objects.filter(source="sync")
    assert sorted((u.service.name, u.kind, u.old_rate, u.new_rate) for u in told) == [
        ("Likes", "new", None, None),
        ("Service 1", "price", Decimal("1.40"), Decimal("1.54")),
        ("Service 3", "disabled", None, None),
    ]
    again = decisions.decide(selling, accept=[by_key["cost", "1"]], by=olga)  # decided already
    assert again.accepted == [] and again.gone_already == 1 and sold("1").rate == Decimal("1.54")


def test_one_line_is_not_both_accepted_and_skipped(selling):
    read(selling, [item(1, "1.10"), item(2, "2.00"), item(3, "3.00")])
    (line,) = listing.pending(selling)
    with pytest.raises(ValueError):
        decisions.decide(selling, accept=[line.pk], skip=[line.pk])
    assert listing.pending(selling) == [line]


def test_the_rule_to_every_cost_change_reprices_each_and_leaves_other_lines(selling):
    Provider.objects.filter(pk=selling.pk).update(
        price_rule="fixed", price_markup=Decimal("0.33"), price_step="0.05"
    )
    selling.refresh_from_db()
    read(selling, [item(1, "1.10"), item(2, "2.02"), item(3, "3.00", min_=1)])
    done = decisions.rule_to_every_cost_change(selling)
    assert [(s.name, old, new) for s, old, new in done.repriced] == [
        ("Service 1", Decimal("1.40"), Decimal("1.45")),  # 1.10 + 0.33 = 1.43, up to 1.45
        ("Service 2", Decimal("2.80"), Decimal("2.35")),  # 2.02 + 0.33 = 2.35: a multiple of 0.05 already
    ]
    assert set(lines(selling)) == {("limits", "3")}


def test_the_loss_guard_disables_at_once_and_tells_customers(selling):
    result = read(selling, [item(1, "1.50"), item(2, "2.00"), item(3, "3.00")])  # 1.50 > 1.40
    assert result.disabled == [sold("1")] and result.flagged == []
    assert not sold("1").enabled
    (update,) = ServiceUpdate.objects.filter(source="loss_guard")
    assert (update.service, update.kind) == (sold("1"), "disabled")
    assert set(lines(selling)) == {("cost", "1")}  # the price itself still waits for a decision


def test_the_rules_price_puts_back_on_sale_what_the_loss_guard_took_off_and_nothing_else(selling):
    read(selling, [item(1, "1.50"), item(2, "2.00"), item(3, "3.00")])  # 1 taken off by the guard
    Service.objects.filter(pk=sold("2").pk).update(enabled=False)  # 2 taken off by a person
    read(selling, [item(1, "1.50"), item(2, "2.50"), item(3, "3.00")])
    done = decisions.rule_to_every_cost_change(selling)
    assert done.enabled == [sold("1")]
    assert (sold("1").rate, sold("1").enabled) == (Decimal("2.10"), True)  # 1.50 + 40 %
    assert (sold("2").rate, sold("2").enabled) == (Decimal("3.50"), False)  # repriced, still off
    kinds = list(ServiceUpdate.objects.filter(service=sold("1")).order_by("id").values_list("kind", "source"))
    assert kinds == [("new", "import"), ("disabled", "loss_guard"), ("price", "sync"), ("enabled", "sync")]


def test_the_loss_guard_only_flags_when_the_setting_is_off(selling, settings):
    settings.SMMPANEL_DISABLE_UNPROFITABLE = False
    result = read(selling, [item(1, "1.50"), item(2, "2.00"), item(3, "3.00")])
    assert result.flagged == [sold("1")] and result.disabled == []
    assert sold("1").enabled and not ServiceUpdate.objects.filter(source="loss_guard").exists()


def test_a_new_service_whose_price_would_be_too_large_stays_pending(selling):
    read(selling, [item(1, "1.00"), item(2, "2.00"), item(3, "3.00"), item(5, "999999999")])
    (line,) = listing.pending(selling)
    done = decisions.decide(selling, accept=[line.pk])
    assert [pending for pending, _ in done.refused] == [line] and done.accepted == []
    assert not Service.objects.filter(provider_service__external_id="5").exists()
    assert listing.pending(selling) == [line]


# --- against a real upstream: a failed read, the worker's periodic read ------------------------


def services_calls(upstream) -> int:
    return sum(action == "services" for action, _ in upstream.calls)


@pytest.fixture
def remote(upstream):
    return Provider.objects.create(name="Remote", url=upstream.url, api_key=upstream.key, timeout_seconds=2)


def test_a_failed_read_keeps_its_error_and_changes_nothing_else(remote, upstream):
    assert listing.read(remote).error == ""
    importing.import_services(remote, RULE)
    upstream.services[0]["rate"] = "5"
    upstream.fault("services", "html")
    result = listing.read(remote)
    assert "bad_answer" in result.error
    remote.refresh_from_db()
    assert remote.listing_error == result.error
    assert ProviderService.objects.get(external_id="1").rate == Decimal("0.90")
    assert not ListingChange.objects.exists() and Service.objects.filter(enabled=True).count() == 3
    assert listing.read(remote).error == ""  # the next good read clears it
    remote.refresh_from_db()
    assert remote.listing_error == "" and set(lines(remote)) == {("cost", "1")}


def test_the_worker_reads_each_list_when_it_is_due(remote, upstream, settings):
    settings.SMMPANEL_LISTING_SYNC_MINUTES = 60
    now = timezone.now()
    assert listing.read_due(now) == 1  # never read: due
    assert listing.read_due(now + timedelta(minutes=59)) == 0
    assert services_calls(upstream) == 1
    upstream.services[0]["rate"] = "1.5"
    importing.import_services(remote, RULE)
    assert Worker(clock=lambda: now + timedelta(minutes=61)).run_once() >= 1
    assert services_calls(upstream) == 2 and set(lines(remote)) == {("cost", "1")}
    remote.refresh_from_db()
    assert remote.listing_read_at == now + timedelta(minutes=61)


def test_the_worker_never_reads_a_disabled_provider_nor_when_the_setting_is_0(remote, upstream, settings):
    settings.SMMPANEL_LISTING_SYNC_MINUTES = 0
    assert listing.read_due(timezone.now()) == 0
    settings.SMMPANEL_LISTING_SYNC_MINUTES = 60
    Provider.objects.filter(pk=remote.pk).update(enabled=False)
    assert listing.read_due(timezone.now()) == 0
    assert services_calls(upstream) == 0
