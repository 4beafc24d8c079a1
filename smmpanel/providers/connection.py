"""Asking a provider for its balance: before a URL and key are stored (the check of `provider
add` and of the console's provider form), and for a provider already stored (`provider balance`,
the console's "Test the connection", the worker's refresh, providers/balances.py).

A check that fails says which of four ways it failed, so each caller can say it plainly:
the key refused, the URL unreachable, an answer that is not the API's JSON, an HTTP error."""

from dataclasses import dataclass
from decimal import Decimal

from smmpanel.ledger.money import MoneyError, to_money
from smmpanel.providers.answers import BAD_ANSWER, HTTP_ERROR, Refused, UpstreamError
from smmpanel.providers.client import ProviderClient

REFUSED = "refused"  # the provider answered {"error": ...}: a wrong key, most often
UNREACHABLE = "unreachable"  # refused connection, unknown host, timeout, dropped connection
NOT_JSON = "not_json"  # an HTML page, invalid JSON, an empty body, a JSON of another shape
HTTP_STATUS = "http_error"  # a 4xx or 5xx status


class CheckFailed(Exception):
    """A balance call with no balance in its answer: `kind` is one of the four above, `detail`
    the client's own words (the provider's error, or what went wrong on the way)."""

    def __init__(self, kind: str, detail: str, outcome: str) -> None:
        super().__init__(f"{outcome}: {detail}")
        self.kind = kind
        self.detail = detail
        self.outcome = outcome  # the call's UpstreamCall.Outcome: "error", "timeout", "connection" ...


@dataclass(frozen=True)
class Balance:
    amount: Decimal
    currency: str  # as the provider says it, upper-cased; "" when it says none


def failure_of(exc: UpstreamError) -> CheckFailed:
    if isinstance(exc, Refused):
        kind = REFUSED
    else:
        kind = {BAD_ANSWER: NOT_JSON, HTTP_ERROR: HTTP_STATUS}.get(exc.outcome, UNREACHABLE)
    return CheckFailed(kind, exc.message, exc.outcome)


def balance_from(client: ProviderClient) -> Balance:
    """The balance `client`'s provider answers; raises CheckFailed. A network call: never call
    it inside a database transaction."""
    try:
        amount, currency = client.balance()
        return Balance(to_money(amount), currency.strip().upper())
    except UpstreamError as exc:
        raise failure_of(exc) from None
    except MoneyError as exc:
        raise CheckFailed(NOT_JSON, f"a balance that is not an amount: {exc}", BAD_ANSWER) from None


def check(url: str, key: str, timeout: float) -> Balance:
    """Ask the panel at `url` for its balance with `key`, before either is stored (no call record:
    there is no provider row yet)."""
    with ProviderClient(url, key, timeout=timeout) as client:
        return balance_from(client)
