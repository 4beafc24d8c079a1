"""A gateway's fee and bonus on a deposit, in exact Decimal arithmetic (the ledger's rounding)."""

from decimal import Decimal

from smmpanel.ledger.money import ZERO, to_money
from smmpanel.payments.gateways.base import Rule

HUNDRED = Decimal(100)


def fee(rule: Rule, amount: Decimal) -> Decimal:
    """The fee on a deposit of `amount`: never more than the deposit itself."""
    charged = to_money(amount * rule.fee_percent / HUNDRED + rule.fee_fixed)
    return min(max(charged, ZERO), to_money(amount))


def bonus(rule: Rule, amount: Decimal) -> Decimal:
    """The bonus on a deposit of `amount`: `bonus_percent` % once the deposit reaches `bonus_from`."""
    if rule.bonus_percent <= 0 or amount < rule.bonus_from:
        return ZERO
    return to_money(amount * rule.bonus_percent / HUNDRED)


def net(rule: Rule, amount: Decimal) -> Decimal:
    """What a deposit of `amount` adds to the balance, bonus and fee included."""
    return to_money(amount) + bonus(rule, amount) - fee(rule, amount)
