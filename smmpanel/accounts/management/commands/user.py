import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from smmpanel.accounts.models import User
from smmpanel.accounts.services import create_customer, credit
from smmpanel.ledger.money import MAX_AMOUNT, MoneyError, parse_amount
from smmpanel.ledger.services import BalanceLimit, InsufficientFunds


class Command(BaseCommand):
    help = "Manage customers: `user create NAME`, `user credit NAME AMOUNT`."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="command", required=True)
        create = sub.add_parser("create", help="Create a customer and print its API key as JSON.")
        create.add_argument("name")
        create.add_argument("--email", default="")
        create.add_argument("--balance", default="0", help="Opening balance (a ledger deposit).")
        create.add_argument("--staff", action="store_true", help="An operator (console access).")
        credit_ = sub.add_parser("credit", help="Add AMOUNT (negative to take) to a balance.")
        credit_.add_argument("name")
        credit_.add_argument("amount")
        credit_.add_argument("--memo", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "create":
            self._create(options)
        else:
            self._credit(options)

    def _amount(self, text: str) -> Any:
        try:
            return parse_amount(text)
        except MoneyError as exc:
            raise CommandError(f"{text!r} is not an amount like 10 or 12.50") from exc

    def _create(self, options: dict[str, Any]) -> None:
        name = options["name"].strip()
        balance = self._amount(options["balance"])
        if balance < 0:
            raise CommandError("--balance cannot be negative")
        if not name or User.objects.filter(username=name).exists():
            raise CommandError(f"user {name!r} exists already" if name else "a name is required")
        user, raw_key = create_customer(name, email=options["email"], balance=balance, staff=options["staff"])
        self.stdout.write(json.dumps({"username": user.username, "api_key": raw_key}))

    def _credit(self, options: dict[str, Any]) -> None:
        amount = self._amount(options["amount"])
        try:
            user = User.objects.get(username=options["name"])
        except User.DoesNotExist:
            raise CommandError(f"no user named {options['name']!r}") from None
        try:
            balance = credit(user, amount, memo=options["memo"])
        except InsufficientFunds:
            raise CommandError(f"{user.username}'s balance cannot cover {amount}") from None
        except BalanceLimit:
            raise CommandError(f"{user.username}'s balance would pass {MAX_AMOUNT}") from None
        self.stdout.write(f"{user.username}: balance {balance}")
