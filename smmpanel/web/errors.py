"""How the website words the errors of placing an order and of acting on one.

The API answers in fixed English strings its clients match (api/dialects.py);
the site speaks to a person instead, in plain words and in their language, so
every error the API names has its own message here.
"""

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.orders.drafting import PlacementError
from smmpanel.orders.requests import OrderActionError

E = PlacementError

# %(value)s is the minimum or maximum; %(field)s the name of a field, as its label reads.
PLACEMENT: dict[str, Promise] = {
    E.MISSING: _("Fill in the %(field)s."),
    E.BAD_SERVICE: _("This service is not available: choose another one."),
    E.NOT_TAKING_ORDERS: _("This service is not taking orders right now."),
    E.BAD_LINK: _("Enter a full web address, such as https://instagram.com/p/abc."),
    E.BELOW_MIN: _("The minimum for this service is %(value)s."),
    E.ABOVE_MAX: _("The maximum for this service is %(value)s."),
    E.BAD_QUANTITY: _("Enter the quantity as a whole number, such as 1000."),
    E.BAD_PARAMETER: _("Check the %(field)s: it cannot be used as written."),
    E.NO_FUNDS: _("Your balance does not cover this order: add funds first."),
    E.ON_HOLD: _("Your account is on hold because of a payment dispute; contact support."),
    E.NO_DRIPFEED: _("This service does not offer drip-feed."),
    E.BAD_RUNS: _("For drip-feed, enter at least 2 runs and the minutes between them."),
    E.ACTIVE_LINK: _(
        "You already have an unfinished order of this service for this link. "
        "You can order it again when that one ends."
    ),
    E.BAD_SUBSCRIPTION: _(
        "Check the subscription: whole numbers, a minimum and maximum per post within the "
        "service's limits (the minimum not above the maximum), and an end date after today."
    ),
}

ORDER_ACTION: dict[str, Promise] = {
    OrderActionError.BAD_ORDER: _("There is no such order."),
    OrderActionError.NO_REFILL: _("This order cannot be refilled now."),
    OrderActionError.NO_CANCEL: _("This order can no longer be canceled."),
}

# The mass order form's own messages.
MASS_FORMAT = _("Start the line with the service ID and a |, then write its service's fields (see below).")
MASS_LINE = _("Write this service's lines as %(format)s")
MASS_NEEDS_FORM = _("Subscriptions cannot be mass-ordered: use the order form.")
MASS_TOO_MANY = _("At most %(limit)s lines at a time: this has %(count)s.")
MASS_EMPTY = _("Write at least one line.")

# The order form's own messages.
FORM_EXPIRED = _("This form is out of date: check the order and place it again.")


def field_label(name: str) -> str:
    """A parameter of the API as the order form labels it, e.g. answer_number -> "answer number"."""
    from smmpanel.web.forms.orders import OrderForm  # the form words its errors with this module

    field = OrderForm.base_fields.get(name)
    return str(field.label).lower() if field is not None and field.label else name


def placement_message(error: PlacementError) -> str:
    """The customer's message for a placement error, in the active language."""
    field = field_label(str(error.value)) if error.code in (E.MISSING, E.BAD_PARAMETER) else ""
    return str(PLACEMENT[error.code]) % {"value": error.value, "field": field}


def action_message(error: OrderActionError) -> str:
    return str(ORDER_ACTION[error.code])
