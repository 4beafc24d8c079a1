from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.accounts.models import StaffRole
from smmpanel.console.roles import CAPABILITIES

# The console's menu after the dashboard: (capability, URL name, label, nav key), in order. A page
# joins the menu here; each member of staff sees only the pages their role opens.
MENU: list[tuple[str, str, Promise, str]] = [
    ("orders", "console:orders", _("Orders"), "orders"),
    ("orders", "console:queues", _("Queues"), "queues"),
    ("customers", "console:customers", _("Customers"), "customers"),
    ("deposits", "console:deposits", _("Deposits"), "deposits"),
    ("deposits", "console:reconcile", _("Reconciliation"), "reconcile"),
    ("gateways", "console:gateways", _("Gateways"), "gateways"),
    ("providers", "console:providers", _("Providers"), "providers"),
    ("audit", "console:audit", _("Audit log"), "audit"),
]


def console(request: HttpRequest) -> dict[str, object]:
    """On console pages: the capabilities of the member of staff (`console_can`), their menu and
    their role's name; nothing outside the console."""
    role = getattr(request, "console_role", "")
    if not role:
        return {"console_can": set()}
    can = {name for name, roles in CAPABILITIES.items() if role in roles}
    menu = [
        {"url": reverse(name), "label": label, "nav": nav}
        for capability, name, label, nav in MENU
        if capability in can
    ]
    return {"console_can": can, "console_menu": menu, "console_role_label": StaffRole(role).label}
