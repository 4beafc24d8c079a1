from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from smmpanel.accounts.models import StaffRole
from smmpanel.console.roles import CAPABILITIES

# The console's menu after the dashboard: (capability, URL name, label, nav key, group), in order.
# A page joins the menu here; each member of staff sees only the pages their role opens. Pages
# of one group share one place in the top bar (named after the group's first page they may see)
# and are listed as tabs above the content of each of them, so the bar keeps to one row.
MENU: list[tuple[str, str, Promise, str, str]] = [
    ("orders", "console:orders", _("Orders"), "orders", "orders"),
    ("orders", "console:queues", _("Queues"), "queues", "orders"),
    ("customers", "console:customers", _("Customers"), "customers", "customers"),
    ("deposits", "console:deposits", _("Deposits"), "deposits", "money"),
    ("deposits", "console:reconcile", _("Reconciliation"), "reconcile", "money"),
    ("gateways", "console:gateways", _("Gateways"), "gateways", "money"),
    ("catalog", "console:services", _("Services"), "services", "catalogue"),
    ("catalog", "console:categories", _("Categories"), "categories", "catalogue"),
    ("providers", "console:providers", _("Providers"), "providers", "catalogue"),
    ("reports", "console:reports", _("Reports"), "reports", "reports"),
    ("audit", "console:audit", pgettext_lazy("console menu", "Audit log"), "audit", "audit"),
]


@dataclass
class MenuItem:
    url: str
    label: Promise
    nav: str


@dataclass
class MenuGroup:
    items: list[MenuItem] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.items[0].url

    @property
    def label(self) -> Promise:
        return self.items[0].label

    @property
    def navs(self) -> list[str]:
        return [item.nav for item in self.items]


def menu_for(can: set[str]) -> list[MenuGroup]:
    """The groups a member of staff with capabilities `can` sees, each with its pages."""
    groups: dict[str, MenuGroup] = {}
    for capability, name, label, nav, group in MENU:
        if capability in can:
            groups.setdefault(group, MenuGroup()).items.append(MenuItem(reverse(name), label, nav))
    return list(groups.values())


def console(request: HttpRequest) -> dict[str, object]:
    """On console pages: the capabilities of the member of staff (`console_can`), their menu and
    their role's name; nothing outside the console."""
    role = getattr(request, "console_role", "")
    if not role:
        return {"console_can": set()}
    can = {name for name, roles in CAPABILITIES.items() if role in roles}
    return {"console_can": can, "console_menu": menu_for(can), "console_role_label": StaffRole(role).label}
