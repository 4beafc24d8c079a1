import json
import os
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.utils import timezone

from smmpanel.catalog import pricing
from smmpanel.catalog.models import Provider
from smmpanel.ledger.money import MoneyError, normalised, parse_amount
from smmpanel.providers import balances, connection, decisions, importing, listing, registry
from smmpanel.providers.client import Refused, Unreachable
from smmpanel.providers.models import ListingChange
from smmpanel.providers.records import ProviderHealth, client_for, health, prune, retention_days
from smmpanel.subcommands import Options, Subcommand, SubcommandsCommand

HEALTH_WINDOW = timedelta(hours=1)


def _call_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name", help="The provider's name.")
    parser.add_argument("action", help="The API action, e.g. balance, services, status.")
    parser.add_argument("params", nargs="*", metavar="param=value", help="Parameters, e.g. order=123.")


def _status_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="One provider (default: all of them).")
    parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")


def _add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument(
        "--url", default="", help="The provider's API URL, e.g. https://panel.example/api/v2."
    )
    parser.add_argument(
        "--key",
        default="",
        help="The API key the provider gave you. Rather than this option, set the PROVIDER_KEY "
        "environment variable: the key then stays out of your shell history.",
    )
    parser.add_argument("--kind", choices=Provider.Kind.values, default=Provider.Kind.API_V2)
    parser.add_argument(
        "--honours-idempotency",
        action="store_true",
        help="The provider returns the first order for a repeated Idempotency-Key (another smmpanel does).",
    )
    parser.add_argument("--currency", default="USD", help="The currency of the provider's prices.")
    parser.add_argument("--timeout", type=float, default=30.0, help="Total seconds allowed for one call.")
    parser.add_argument(
        "--rps", type=float, default=5.0, help="At most this many calls a second, all workers together."
    )
    parser.add_argument(
        "--no-check",
        action="store_true",
        help="Store the provider without first asking it for its balance with the URL and key given.",
    )


def _rate_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name", help="The provider's name.")
    parser.add_argument(
        "rate", help="What one unit of the provider's currency is worth in the panel's, e.g. 1.08."
    )


def _name_argument(parser: ArgumentParser) -> None:
    parser.add_argument("name", help="The provider's name.")


def _prune_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--days",
        type=int,
        default=None,
        help="Keep this many days of calls (default: the SMMPANEL_CALL_RETENTION_DAYS setting).",
    )


def _import_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument(
        "--markup",
        default="20",
        help="Added to the provider's rate: a percent, or with --fixed an amount (default 20).",
    )
    parser.add_argument(
        "--fixed", action="store_true", help="The markup is an amount in the panel's currency, not a percent."
    )
    parser.add_argument(
        "--step",
        default="0.000001",
        help="Prices are rounded up to a multiple of this, e.g. 0.01 (default 0.000001: no rounding).",
    )
    parser.add_argument(
        "--category-map",
        action="append",
        default=[],
        metavar="UPSTREAM=LOCAL",
        help="Put services of the provider's category UPSTREAM in the local category LOCAL (repeatable).",
    )


def _sync_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--accept-all",
        action="store_true",
        help="Accept every change waiting (as the console's Apply would), at the provider's pricing rule.",
    )


def _category_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        upstream, sep, local = pair.partition("=")
        if not sep or not upstream.strip() or not local.strip():
            raise CommandError(f"--category-map wants UPSTREAM=LOCAL, not {pair!r}")
        mapping[upstream.strip()] = local.strip()
    return mapping


def _line(line: ListingChange) -> dict[str, Any]:
    upstream = line.provider_service
    return {
        "line": line.pk,
        "id": upstream.external_id,
        "name": upstream.name,
        "before": line.before,
        "after": line.after,
    }


def _sync_summary(provider: Provider, result: listing.ReadResult) -> dict[str, Any]:
    waiting = listing.pending(provider)
    summary: dict[str, Any] = {
        kind.value: [_line(line) for line in waiting if line.kind == kind] for kind in ListingChange.Kind
    }
    summary["disabled"] = [{"service": s.pk, "name": s.name, "price": str(s.rate)} for s in result.disabled]
    summary["flagged"] = [{"service": s.pk, "name": s.name, "price": str(s.rate)} for s in result.flagged]
    return summary


def _decided_summary(decided: decisions.Decided) -> dict[str, Any]:
    return {
        "created": [{"service": s.pk, "name": s.name, "price": str(s.rate)} for s in decided.created],
        "repriced": [{"service": s.pk, "from": str(old), "to": str(new)} for s, old, new in decided.repriced],
        "disabled": [{"service": s.pk, "name": s.name} for s in decided.disabled],
        "updated": [{"service": s.pk, "name": s.name} for s in decided.updated],
        "refused": [{"line": line.pk, "why": why} for line, why in decided.refused],
    }


def _rule(options: Options) -> pricing.PriceRule:
    try:
        markup, step = parse_amount(options["markup"]), parse_amount(options["step"])
        return pricing.PriceRule(pricing.FIXED if options["fixed"] else pricing.PERCENT, markup, step)
    except (MoneyError, ValueError):
        raise CommandError(
            f"--markup wants a number like 20 or 12.5 and --step one like 0.01, "
            f"not {options['markup']!r} and {options['step']!r}"
        ) from None


def _provider(name: str) -> Provider:
    try:
        return Provider.objects.get(name=name)
    except Provider.DoesNotExist:
        known = ", ".join(Provider.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise CommandError(f"no provider named {name!r} (known: {known})") from None


@contextmanager
def _errors_of(provider: Provider) -> Iterator[None]:
    """A refused or failed call as one clear line, and exit code 1."""
    try:
        yield
    except Refused as exc:
        raise CommandError(f"{provider.name} refused: {exc.message}") from None
    except Unreachable as exc:
        raise CommandError(f"{provider.name} unreachable ({exc.outcome}): {exc.message}") from None
    except ValueError as exc:
        raise CommandError(str(exc)) from None


def _params(pairs: list[str]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"{pair!r} is not a param=value pair")
        params[name] = value
    return params


def _when(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _row(provider: Provider, state: ProviderHealth) -> dict[str, Any]:
    return {
        "name": provider.name,
        "kind": provider.kind,
        "enabled": provider.enabled,
        "calls": state.calls,
        "failure_rate": round(state.failure_rate * 100, 1),
        "refusal_rate": round(state.refusal_rate * 100, 1),
        "p95_latency_ms": state.p95_latency_ms,
        "last_call_at": state.last_call_at.isoformat() if state.last_call_at else None,
        "last_balance": None if state.last_balance is None else str(state.last_balance),
        "currency": provider.currency,
        "last_balance_at": state.last_balance_at.isoformat() if state.last_balance_at else None,
        **_exchange_rate_row(provider),
    }


def _exchange_rate_row(provider: Provider) -> dict[str, Any]:
    if provider.counts_in_panel_currency:
        return {"exchange_rate": None, "exchange_rate_set_at": None, "exchange_rate_stale": False}
    set_at = provider.exchange_rate_set_at
    return {
        "exchange_rate": normalised(provider.exchange_rate),
        "exchange_rate_set_at": set_at.isoformat() if set_at else None,
        "exchange_rate_stale": provider.exchange_rate_is_stale(timezone.now()),
    }


def _exchange_rate_cells(provider: Provider) -> list[str]:
    """The rate as `1.08 USD/EUR`, and when it was set, flagged when stale; `-` in the panel's currency."""
    if provider.counts_in_panel_currency:
        return ["-", "-"]
    rate = f"{normalised(provider.exchange_rate)} {settings.SMMPANEL_CURRENCY}/{provider.currency}"
    set_at = provider.exchange_rate_set_at
    when = _when(set_at) if set_at else "never"
    return [rate, f"{when} (stale)" if provider.exchange_rate_is_stale(timezone.now()) else when]


def _table_line(provider: Provider, state: ProviderHealth) -> list[str]:
    balance = "-" if state.last_balance is None else f"{state.last_balance} {provider.currency}"
    return [
        provider.name,
        provider.kind,
        "yes" if provider.enabled else "no",
        str(state.calls),
        f"{state.failure_rate * 100:.1f}%",
        f"{state.refusal_rate * 100:.1f}%",
        "-" if state.p95_latency_ms is None else str(state.p95_latency_ms),
        balance,
        _when(state.last_balance_at),
        *_exchange_rate_cells(provider),
    ]


def _table(lines: list[list[str]]) -> str:
    head = ["name", "kind", "enabled", "calls 1h", "failures", "refusals", "p95 ms", "balance", "balance at"]
    head += ["exchange rate", "rate set at"]
    widths = [max(len(line[i]) for line in [head, *lines]) for i in range(len(head))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [head, *lines]
    )


class Command(SubcommandsCommand):
    help = (
        "Upstream providers: `provider add`, `provider rate`, `provider call`, `provider balance`, "
        "`provider status`, `provider prune-calls`, `provider import`, `provider sync`."
    )

    def subcommands(self) -> list[Subcommand]:
        return [
            ("add", "Register a provider (after asking it for its balance).", _add_arguments, self._add),
            ("rate", "Set a provider's exchange rate to the panel's currency.", _rate_arguments, self._rate),
            ("call", "Call a provider's API and print its JSON answer.", _call_arguments, self._call),
            ("balance", "Fetch and store a provider's balance.", _name_argument, self._balance),
            ("status", "Provider health over the last hour.", _status_arguments, self._status),
            ("prune-calls", "Delete old upstream call records.", _prune_arguments, self._prune_calls),
            ("import", "Create local services from the provider's list.", _import_arguments, self._import),
            ("sync", "Read the provider's list; show (or accept) what changed.", _sync_arguments, self._sync),
        ]

    def _add(self, options: Options) -> None:
        wanted = registry.Settings(
            name=options["name"].strip(),
            kind=options["kind"],
            url=options["url"].strip(),
            key=(options["key"] or os.environ.get("PROVIDER_KEY", "")).strip(),
            currency=options["currency"].strip().upper(),
            honours_idempotency=options["honours_idempotency"],
            timeout_seconds=options["timeout"],
            requests_per_second=options["rps"],
        )
        self._check_new(wanted)
        balance = None
        if registry.needs_check(wanted) and not options["no_check"]:
            balance = self._check_answers(wanted)
        provider = registry.create(wanted, balance, timezone.now())
        self.stdout.write(f"provider {provider.name} added ({provider.get_kind_display()})")

    def _check_answers(self, wanted: registry.Settings) -> connection.Balance:
        """Ask the new provider for its balance with its URL and key; say what failed, store nothing."""
        fix = "nothing stored (--no-check stores it unchecked)"
        try:
            balance = connection.check(wanted.url, wanted.key, wanted.timeout_seconds)
        except connection.CheckFailed as failure:
            problem = {
                connection.REFUSED: f"refused the key: {failure.detail}",
                connection.NOT_JSON: f"did not answer a balance in JSON: {failure.detail}",
                connection.HTTP_STATUS: f"answered with an HTTP error: {failure.detail}",
            }.get(failure.kind, f"is unreachable ({failure.outcome}): {failure.detail}")
            raise CommandError(f"{wanted.name} {problem}; {fix}") from None
        self._warn_of_currency(wanted.name, balance.currency, wanted.currency)
        return balance

    def _warn_of_currency(self, name: str, said: str, registered: str) -> None:
        if said and said != registered:
            self.stderr.write(f"warning: {name} counts in {said}, registered as {registered}")

    def _rate(self, options: Options) -> None:
        provider = _provider(options["name"])
        try:
            rate = registry.parse_exchange_rate(options["rate"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if provider.counts_in_panel_currency:
            raise CommandError(
                f"{provider.name} counts in {provider.currency}, the panel's currency: it needs no rate"
            )
        registry.set_rate(provider, rate, timezone.now())
        self.stdout.write(
            f"{provider.name}: 1 {provider.currency} = {normalised(rate)} {settings.SMMPANEL_CURRENCY}, "
            f"set {_when(provider.exchange_rate_set_at)}"
        )

    def _check_new(self, wanted: registry.Settings) -> None:
        if wanted.kind == Provider.Kind.API_V2 and not (wanted.url and wanted.key):
            raise CommandError(
                "an API provider needs --url and a key (--key, or PROVIDER_KEY in the environment)"
            )
        if wanted.timeout_seconds <= 0 or wanted.requests_per_second <= 0:
            raise CommandError("--timeout and --rps must be positive")
        provider = Provider(api_key=wanted.key)
        for name in registry.EDITED:
            setattr(provider, name, getattr(wanted, name))
        try:
            provider.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
            raise CommandError(problems) from None

    def _call(self, options: Options) -> None:
        provider = _provider(options["name"])
        params = _params(options["params"])
        with _errors_of(provider), client_for(provider) as client:
            answer = client.call(options["action"].strip(), params)
        self.stdout.write(json.dumps(answer, indent=2, ensure_ascii=False))

    def _balance(self, options: Options) -> None:
        provider = _provider(options["name"])
        if not provider.url:
            raise CommandError(f"provider {provider.name!r} ({provider.kind}) has no API URL")
        try:
            balance = balances.read(provider)
        except connection.CheckFailed as failure:
            if failure.kind == connection.REFUSED:
                raise CommandError(f"{provider.name} refused: {failure.detail}") from None
            raise CommandError(f"{provider.name} unreachable ({failure.outcome}): {failure.detail}") from None
        currency = balance.currency or provider.currency
        self.stdout.write(f"{provider.name}: balance {balance.amount} {currency}")
        self._warn_of_currency(provider.name, balance.currency, provider.currency)

    def _status(self, options: Options) -> None:
        providers = (
            [_provider(options["name"])] if options["name"] else list(Provider.objects.order_by("name"))
        )
        states = [(provider, health(provider, HEALTH_WINDOW)) for provider in providers]
        if options["json"]:
            self.stdout.write(json.dumps([_row(p, s) for p, s in states], indent=2))
        elif not states:
            self.stdout.write("no providers yet: add one with `smmpanel provider add`")
        else:
            self.stdout.write(_table([_table_line(p, s) for p, s in states]))

    def _fetch(self, provider: Provider) -> listing.ReadResult:
        result = listing.read(provider)
        if result.error:
            raise CommandError(f"{provider.name}: reading its list failed: {result.error}")
        return result

    def _import(self, options: Options) -> None:
        provider = _provider(options["name"])
        rule = _rule(options)
        mapping = _category_map(options["category_map"])
        self._fetch(provider)
        result = importing.import_services(provider, rule, category_map=mapping)
        for service in result.created:
            self.stdout.write(
                f"#{service.pk} {service.name} [{service.category.name}] at {normalised(service.rate)}"
            )
        for upstream, why in result.skipped:
            self.stderr.write(f"not imported: #{upstream.external_id} {upstream.name}: {why}")
        markup = normalised(rule.markup)
        shown = f"+{markup}%" if rule.kind == pricing.PERCENT else f"+{markup} {settings.SMMPANEL_CURRENCY}"
        self.stdout.write(f"imported {len(result.created)} services from {provider.name} at {shown}")

    def _sync(self, options: Options) -> None:
        provider = _provider(options["name"])
        summary = _sync_summary(provider, self._fetch(provider))
        if options["accept_all"]:
            decided = decisions.decide(provider, decisions.pending_ids(provider))
            summary["applied"] = _decided_summary(decided)
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2, ensure_ascii=False))
            return
        for section, rows in summary.items():
            if section == "applied":
                for part, done in rows.items():
                    self.stdout.write(f"applied, {part}: {len(done)}")
                continue
            self.stdout.write(f"{section}: {len(rows)}")
            for row in rows:
                self.stdout.write("  " + ", ".join(f"{k} {v}" for k, v in row.items()))

    def _prune_calls(self, options: Options) -> None:
        days = retention_days() if options["days"] is None else options["days"]
        if days < 0:
            raise CommandError("--days cannot be negative")
        deleted = prune(days)
        self.stdout.write(f"deleted {deleted} upstream call records older than {days} days")
