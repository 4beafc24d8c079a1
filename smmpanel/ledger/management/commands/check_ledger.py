from typing import Any

from django.core.management.base import BaseCommand, CommandError

from smmpanel.ledger.services import mismatches


class Command(BaseCommand):
    help = "Check that every customer's balance equals the sum of their ledger entries."

    def handle(self, *args: Any, **options: Any) -> None:
        bad = list(mismatches())
        if not bad:
            self.stdout.write("ledger OK: every balance equals the sum of its entries")
            return
        for m in bad:
            self.stderr.write(
                f"user {m.user_id} ({m.username}): balance {m.balance} "
                f"but ledger sum {m.ledger_sum} (difference {m.balance - m.ledger_sum})"
            )
        raise CommandError(f"{len(bad)} customer(s) whose balance does not match the ledger")
