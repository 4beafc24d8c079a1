"""Every error of docs/api.md that services, balance, add and status can hit, per dialect."""

import pytest

from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order

V1_MISSING = "There are missing required parameters. Please check your API Manual"


def both(api, expected_v2, expected_v1, **params):
    assert api.post("v2", **params) == {"error": expected_v2}
    assert api.post("v1", **params) == {"error": expected_v1}


@pytest.fixture
def nothing_changes(alice):
    orders, entries, balance = Order.objects.count(), LedgerEntry.objects.count(), alice.balance()
    yield
    assert Order.objects.count() == orders
    assert LedgerEntry.objects.count() == entries
    assert alice.balance() == balance


V1_KEY = "API is Disable for this user or User Not Found! Contact the Support"


@pytest.mark.parametrize("action", ["services", "balance", "add", "status", "nonsense", ""])
def test_missing_key(api, db, action):
    both(api, "Invalid API key", V1_KEY, action=action)


def test_unknown_key(api, alice):
    both(api, "Invalid API key", V1_KEY, key="0" * 32, action="balance")


def test_disabled_key(api, alice):
    alice.user.api_keys.update(is_active=False)
    both(api, "Invalid API key", V1_KEY, key=alice.key, action="balance")


def test_customer_with_api_disabled(api, alice):
    alice.user.api_enabled = False
    alice.user.save()
    both(api, "Invalid API key", V1_KEY, key=alice.key, action="balance")


def test_deactivated_customer(api, alice):
    alice.user.is_active = False
    alice.user.save()
    both(api, "Invalid API key", V1_KEY, key=alice.key, action="status", order="1")


@pytest.mark.parametrize("action", [None, "", "refil", "delete"])
def test_missing_or_unknown_action(api, alice, action):
    params = {"key": alice.key} if action is None else {"key": alice.key, "action": action}
    both(api, "Incorrect request", "This action is Invalid", **params)


class TestAdd:
    @pytest.fixture(autouse=True)
    def _setup(self, api, alice, catalogue, nothing_changes):
        self.api, self.key, self.catalogue = api, alice.key, catalogue

    def add(self, **params):
        return dict(key=self.key, action="add", **params)

    def test_missing_service(self):
        both(
            self.api,
            "Missing required parameter: service",
            V1_MISSING,
            **self.add(link="x.com", quantity=100),
        )

    @pytest.mark.parametrize("service", ["999999", "abc", "-1"])
    def test_unknown_service(self, service):
        both(
            self.api,
            "Incorrect service ID",
            "Service ID does not exists",
            **self.add(service=service, link="x.com", quantity=100),
        )

    def test_disabled_service(self):
        both(
            self.api,
            "Incorrect service ID",
            "Service ID does not exists",
            **self.add(service=self.catalogue.disabled.pk, link="x.com", quantity=5),
        )

    def test_service_in_a_disabled_category(self):
        self.catalogue.default.category.enabled = False
        self.catalogue.default.category.save()
        both(
            self.api,
            "Incorrect service ID",
            "Service ID does not exists",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=100),
        )

    def test_missing_link(self):
        both(
            self.api,
            "Missing required parameter: link",
            V1_MISSING,
            **self.add(service=self.catalogue.default.pk, quantity=100),
        )

    @pytest.mark.parametrize(
        "link",
        [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<b>x</b>",
            "ftp://x.com/a",
            "https://",
            "https://exa mple.com",
            "https://x.com/\x00",
            "x" * 2050,
            "http:///path",
        ],
    )
    def test_bad_link(self, link):
        both(
            self.api,
            "Incorrect link",
            "Bad Link",
            **self.add(service=self.catalogue.default.pk, link=link, quantity=100),
        )

    def test_missing_quantity(self):
        both(
            self.api,
            "Missing required parameter: quantity",
            V1_MISSING,
            **self.add(service=self.catalogue.default.pk, link="x.com"),
        )

    @pytest.mark.parametrize("quantity", ["abc", "-5", "0", "10.5", "1e3", "٣"])
    def test_not_a_whole_positive_number(self, quantity):
        both(
            self.api,
            "Incorrect quantity",
            "Incorrect quantity",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=quantity),
        )

    def test_quantity_below_minimum(self):
        both(
            self.api,
            "Quantity less than minimal 50",
            "Quantity must to be greater than or equal to minimum amount 50",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=49),
        )

    @pytest.mark.parametrize("quantity", ["10001", "99999999999999999999999999"])
    def test_quantity_above_maximum(self, quantity):
        both(
            self.api,
            "Quantity more than maximum 10000",
            "Quantity must to be less than or equal to maximum amount 10000",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=quantity),
        )

    def test_not_enough_funds(self):
        self.catalogue.default.rate = "100000"
        self.catalogue.default.save()
        both(
            self.api,
            "Not enough funds on balance",
            "Not enough funds on balance",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=1000),
        )

    def test_drip_feed_on_a_service_without_it(self):
        self.catalogue.default.dripfeed = False
        self.catalogue.default.save()
        both(
            self.api,
            "Drip-feed is not supported for this service",
            "This services does not support Dripfeed feature!",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=100, runs=2, interval=5),
        )

    @pytest.mark.parametrize(
        ("runs", "interval"), [("1", "5"), ("2", "0"), ("2", ""), ("", "5"), ("x", "5"), ("3", "-1")]
    )
    def test_bad_runs_or_interval(self, runs, interval):
        both(
            self.api,
            "Incorrect runs or interval",
            "Invalid Interval in minutes",
            **self.add(
                service=self.catalogue.default.pk, link="x.com", quantity=100, runs=runs, interval=interval
            ),
        )

    def test_each_drip_feed_run_must_be_within_bounds(self):
        both(
            self.api,
            "Quantity less than minimal 50",
            "Quantity must to be greater than or equal to minimum amount 50",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=20, runs=5, interval=5),
        )

    def test_drip_feed_total_must_be_covered_by_the_balance(self):
        # 10000 x 20 runs x 0.90 / 1000 = 180 > 100
        both(
            self.api,
            "Not enough funds on balance",
            "Not enough funds on balance",
            **self.add(service=self.catalogue.default.pk, link="x.com", quantity=10000, runs=20, interval=5),
        )
