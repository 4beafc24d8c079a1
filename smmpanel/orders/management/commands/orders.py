import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from smmpanel.orders import operator, transitions
from smmpanel.orders.models import Order
from smmpanel.subcommands import Subcommand, SubcommandsCommand

P = Order.ProviderState
S = Order.Status


def _in_doubt_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


def _reconcile_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("order", type=int)
    verdict = parser.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--sent-as", metavar="ID", help="The provider has it, under this order id.")
    verdict.add_argument("--not-sent", action="store_true", help="The provider never got it: refund it.")
    verdict.add_argument("--resend", action="store_true", help="The provider never got it: send it again.")


def _progress_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("order", type=int)
    parser.add_argument("--status", required=True, choices=[s.value for s in S if s not in _SUBSCRIPTION])
    parser.add_argument("--remains", type=int)
    parser.add_argument("--start-count", type=int)


class Command(SubcommandsCommand):
    help = (
        "Orders the engine cannot settle alone: list orders in doubt, reconcile them, record manual progress."
    )

    def subcommands(self) -> list[Subcommand]:
        return [
            (
                "in-doubt",
                "Orders whose send may or may not have reached the provider.",
                _in_doubt_arguments,
                self._in_doubt,
            ),
            (
                "reconcile",
                "Settle an order in doubt, after asking the provider.",
                _reconcile_arguments,
                self._reconcile,
            ),
            (
                "progress",
                "Record the progress of an order (manual providers).",
                _progress_arguments,
                self._progress,
            ),
        ]

    def _in_doubt(self, options: dict[str, Any]) -> None:
        rows = []
        for order in Order.objects.filter(provider_state=P.UNKNOWN).select_related(
            "provider", "service__provider"
        ):
            # The provider's records of its calls, reached through their link to the order.
            last = order.upstream_calls.filter(action="add").order_by("-id").first()
            rows.append(
                {
                    "order": order.pk,
                    "provider": str(order.upstream),
                    "since": order.updated_at.isoformat(),
                    "reason": order.provider_error,
                    "attempts": order.attempts,
                    "last_call": None
                    if last is None
                    else {
                        "at": last.created_at.isoformat(),
                        "outcome": last.outcome,
                        "http_status": last.http_status,
                        "error": last.error,
                        "response": last.response[:500],
                    },
                }
            )
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("no orders in doubt")
        for row in rows:
            self.stdout.write(f"#{row['order']} at {row['provider']} since {row['since']}: {row['reason']}")
        if rows:
            self.stdout.write(
                "ask the provider, then: smmpanel orders reconcile ORDER --sent-as ID | --not-sent | --resend"
            )

    def _order(self, order_id: int) -> Order:
        try:
            return Order.objects.get(pk=order_id)
        except Order.DoesNotExist:
            raise CommandError(f"no order #{order_id}") from None

    def _reconcile(self, options: dict[str, Any]) -> None:
        """The console's "resolve" actions (orders.operator), from the command line (no actor)."""
        order_id, now = options["order"], timezone.now()
        try:
            if options["sent_as"]:
                done = operator.resolve_has_it(order_id, options["sent_as"], actor=None, now=now)
                upstream_id = done.after["provider_order_id"]
                outcome = f"sent as {upstream_id}: the engine follows it from now on"
            elif options["resend"]:
                operator.resolve_never_got_it(order_id, actor=None, now=now)
                outcome = "queued to be sent again"
            else:
                operator.resolve_cancel(order_id, actor=None, now=now)
                outcome = "canceled and refunded"
        except operator.Refused as refused:
            raise CommandError(refused.message) from None
        self.stdout.write(f"order #{order_id} {outcome}")

    def _progress(self, options: dict[str, Any]) -> None:
        order, now = self._order(options["order"]), timezone.now()
        if options["status"] == S.PARTIAL and options["remains"] is None:
            raise CommandError("a Partial order needs --remains: the refund is for what was not delivered")
        if order.provider_state != P.SENT:
            raise CommandError(f"order #{order.pk} has not been sent (it is {order.provider_state})")
        report = transitions.OperatorProgress(options["status"], options["start_count"], options["remains"])
        if not transitions.progress(order.pk, report, now):
            raise CommandError(f"order #{order.pk} did not change (already {order.status}?)")
        order.refresh_from_db()
        self.stdout.write(f"order #{order.pk}: {order.get_status_display()}, remains {order.remains}")


_SUBSCRIPTION = {S.ACTIVE, S.PAUSED, S.EXPIRED}
