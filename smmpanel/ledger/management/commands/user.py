import json
from argparse import ArgumentParser
from decimal import Decimal

from django.core.management.base import CommandError

from smmpanel.accounts.models import User
from smmpanel.ledger.accounts import create_customer, credit
from smmpanel.ledger.money import MAX_AMOUNT, MoneyError, parse_amount
from smmpanel.ledger.services import BalanceLimit, InsufficientFunds, OwnBalance
from smmpanel.subcommands import Options, Subcommand, SubcommandsCommand


def _create_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--email", default="")
    parser.add_argument("--balance", default="0", help="Opening balance (a ledger deposit).")
    parser.add_argument("--staff", action="store_true", help="An operator (console access).")


def _credit_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("amount")
    parser.add_argument("--memo", default="")
    parser.add_argument(
        "--by", metavar="OPERATOR", default="", help="The operator (a staff username) the entry records."
    )


def _amount(text: str) -> Decimal:
    try:
        return parse_amount(text)
    except MoneyError as exc:
        raise CommandError(f"{text!r} is not an amount like 10 or 12.50") from exc


def _user(name: str) -> User:
    try:
        return User.objects.get(username=name)
    except User.DoesNotExist:
        raise CommandError(f"no user named {name!r}") from None


def _operator(name: str) -> User | None:
    if not name:
        return None
    operator = _user(name)
    if not operator.is_staff:
        raise CommandError(f"{name!r} is not an operator (staff)")
    return operator


class Command(SubcommandsCommand):
    help = "Manage customers: `user create NAME`, `user credit NAME AMOUNT`."

    def subcommands(self) -> list[Subcommand]:
        return [
            ("create", "Create a customer and print its API key as JSON.", _create_arguments, self._create),
            ("credit", "Add AMOUNT (negative to take) to a balance.", _credit_arguments, self._credit),
        ]

    def _create(self, options: Options) -> None:
        name = options["name"].strip()
        balance = _amount(options["balance"])
        if balance < 0:
            raise CommandError("--balance cannot be negative")
        if not name or User.objects.filter(username=name).exists():
            raise CommandError(f"user {name!r} exists already" if name else "a name is required")
        user, raw_key = create_customer(name, email=options["email"], balance=balance, staff=options["staff"])
        self.stdout.write(json.dumps({"username": user.username, "api_key": raw_key}))

    def _credit(self, options: Options) -> None:
        amount = _amount(options["amount"])
        user, operator = _user(options["name"]), _operator(options["by"].strip())
        try:
            balance = credit(user, amount, memo=options["memo"], actor=operator)
        except InsufficientFunds:
            raise CommandError(f"{user.username}'s balance cannot cover {amount}") from None
        except BalanceLimit:
            raise CommandError(f"{user.username}'s balance would pass {MAX_AMOUNT}") from None
        except OwnBalance:
            raise CommandError(f"{operator} cannot adjust their own balance: another operator must") from None
        self.stdout.write(f"{user.username}: balance {balance}")
