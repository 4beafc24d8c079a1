"""How the website words the errors of placing an order and of acting on one.

The English text is the API's (the v2 dialect of docs/api.md), so a customer
reads the same message on the site as in the API docs; Spanish comes from the
translation catalogue.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.orders.drafting import PlacementError
from smmpanel.orders.services import OrderActionError

E = PlacementError

# %(value)s is PlacementError.value: a parameter's name, or the minimum or maximum.
PLACEMENT: dict[str, Promise] = {
    E.MISSING: _("Missing required parameter: %(value)s"),
    E.BAD_SERVICE: _("Incorrect service ID"),
    E.BAD_LINK: _("Incorrect link"),
    E.BELOW_MIN: _("Quantity less than minimal %(value)s"),
    E.ABOVE_MAX: _("Quantity more than maximum %(value)s"),
    E.BAD_QUANTITY: _("Incorrect quantity"),
    E.BAD_PARAMETER: _("Incorrect parameter: %(value)s"),
    E.NO_FUNDS: _("Not enough funds on balance"),
    E.NO_DRIPFEED: _("Drip-feed is not supported for this service"),
    E.BAD_RUNS: _("Incorrect runs or interval"),
    E.ACTIVE_LINK: _("You have active order with this link. Please wait until order being completed."),
    E.BAD_SUBSCRIPTION: _("Incorrect subscription parameters"),
}

ORDER_ACTION: dict[str, Promise] = {
    OrderActionError.BAD_ORDER: _("Incorrect order ID"),
    OrderActionError.NO_REFILL: _("Refill is not available for this order"),
    OrderActionError.NO_CANCEL: _("Cancel is not available for this order"),
}

# The mass order form's own messages.
MASS_FORMAT = _("Write each line as service_id|link|quantity")
MASS_NEEDS_FORM = _("This service needs more than a link and a quantity: use the order form")
MASS_TOO_MANY = _("At most %(limit)s lines at a time: this has %(count)s.")
MASS_EMPTY = _("Write at least one line.")

# The order form's own messages.
FORM_EXPIRED = _("This form is out of date: check the order and place it again.")


def placement_message(error: PlacementError) -> str:
    """The customer's message for a placement error, in the active language."""
    return str(PLACEMENT[error.code]) % {"value": error.value}


def action_message(error: OrderActionError) -> str:
    return str(ORDER_ACTION[error.code])
