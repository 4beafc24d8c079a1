"""A customer's prices as the operator sets them: their own rate for one service (`CustomRate`)
and a discount in percent on every other service (`CustomerDiscount`). What a customer then
pays is read in one place only, catalog/offers.py."""

from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from smmpanel.accounts.models import User
from smmpanel.catalog.models import CustomerDiscount, CustomRate, Service
from smmpanel.ledger.money import MAX_AMOUNT, ZERO, normalised, within_places

# A discount is more than nothing and less than everything, in hundredths of a percent.
PERCENT_PLACES = Decimal("0.01")


class PriceError(Exception):
    """A price the panel refuses; nothing was changed. The message is for the operator."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _service(service_id: int) -> Service:
    try:
        return Service.objects.get(pk=service_id)
    except Service.DoesNotExist:
        raise PriceError(_("There is no service #%(id)s.") % {"id": service_id}, "unknown_service") from None


def set_custom_rate(customer: User, service_id: int, rate: Decimal) -> tuple[Decimal | None, Decimal]:
    """Give the customer their own rate for a service (per 1000, or per package); returns the
    rate they had before (None: none) and the new one."""
    if not ZERO <= rate <= MAX_AMOUNT or not within_places(rate):
        raise PriceError(
            _("Enter a rate from 0 to %(max)s with at most 6 decimal places.")
            % {"max": normalised(MAX_AMOUNT)},
            "rate_range",
        )
    service = _service(service_id)
    with transaction.atomic():
        before = CustomRate.objects.select_for_update().filter(user=customer, service=service).first()
        if before is None:
            CustomRate.objects.create(user=customer, service=service, rate=rate)
            return None, rate
        CustomRate.objects.filter(pk=before.pk).update(rate=rate)
        return before.rate, rate


def remove_custom_rate(customer: User, service_id: int) -> Decimal:
    """The customer pays the service's rate again (less their discount); returns the rate removed."""
    with transaction.atomic():
        found = CustomRate.objects.select_for_update().filter(user=customer, service_id=service_id).first()
        if found is None:
            raise PriceError(
                _("This customer has no rate of their own for service #%(id)s.") % {"id": service_id},
                "no_custom_rate",
            )
        CustomRate.objects.filter(pk=found.pk).delete()
        return found.rate


def check_percent(percent: Decimal) -> Decimal:
    if not ZERO < percent < 100 or percent != percent.quantize(PERCENT_PLACES, rounding=ROUND_DOWN):
        raise PriceError(
            _("Enter a discount greater than 0 and less than 100 percent, with at most 2 decimal places."),
            "percent_range",
        )
    return percent.quantize(PERCENT_PLACES)


def set_discount(customer: User, percent: Decimal) -> tuple[Decimal | None, Decimal]:
    """A discount on every service the customer has no own rate for; returns the percent before
    (None: none) and the new one."""
    percent = check_percent(percent)
    with transaction.atomic():
        before = CustomerDiscount.objects.select_for_update().filter(user=customer).first()
        if before is None:
            CustomerDiscount.objects.create(user=customer, percent=percent)
            return None, percent
        CustomerDiscount.objects.filter(pk=before.pk).update(percent=percent)
        return before.percent, percent


def remove_discount(customer: User) -> Decimal:
    """The customer pays the services' rates again; returns the percent removed."""
    with transaction.atomic():
        found = CustomerDiscount.objects.select_for_update().filter(user=customer).first()
        if found is None:
            raise PriceError(_("This customer has no discount."), "no_discount")
        CustomerDiscount.objects.filter(pk=found.pk).delete()
        return found.percent
