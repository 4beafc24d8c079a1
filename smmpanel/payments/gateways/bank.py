"""Bank transfer: the customer sends money quoting the deposit's reference, and an operator
confirms it when it arrives (payments/services.py `confirm`). Nothing is asked of a bank, so the
gateway calls are never made; it is on the interface so that every way to pay is listed, limited
and described in one place."""

from django.utils.translation import gettext_lazy as _

from smmpanel.payments.gateways import register
from smmpanel.payments.gateways.base import Gateway


class BankTransfer(Gateway):
    name = "bank_transfer"
    label = _("Bank transfer")
    on_by_default = True
    manual = True


register(BankTransfer())
