"""Who may do what in the console: each view and action names one capability, and each
capability lists the staff roles that have it (docs/console.md has the same table in words).

- administrator: everything;
- support: orders (every order action) and customers' access (suspend, API access, keys,
  signing in as them); no money figures, balances, deposits, providers or settings;
- finance: money: the dashboard's figures, deposits and their gateways (settings, refunds,
  reconciliation), balance adjustments, customers' prices, and the reports.

Providers and the catalogue (import, sync, services, categories) are the administrator's alone.
"""

from smmpanel.accounts.models import StaffRole

A, S, F = StaffRole.ADMINISTRATOR, StaffRole.SUPPORT, StaffRole.FINANCE

CAPABILITIES: dict[str, frozenset[str]] = {
    "dashboard": frozenset({A, S, F}),
    "money_figures": frozenset({A, F}),
    "orders": frozenset({A, S, F}),
    "order_actions": frozenset({A, S}),
    "customers": frozenset({A, S, F}),
    "customer_access": frozenset({A, S}),
    "customer_money": frozenset({A, F}),
    "deposits": frozenset({A, F}),
    "gateways": frozenset({A, F}),
    "providers": frozenset({A}),
    "catalog": frozenset({A}),
    "reports": frozenset({A, F}),
    "audit": frozenset({A}),
    "staff": frozenset({A}),
}


def allows(role: str, capability: str) -> bool:
    """True if `role` has `capability`; an unknown capability is nobody's (a typo refuses)."""
    return role in CAPABILITIES.get(capability, frozenset())
