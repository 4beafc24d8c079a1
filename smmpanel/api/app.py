"""The reseller API as a bare WSGI application, mounted at /api/v1 and /api/v2.

It skips Django's request/response machinery and middleware on purpose: the
API needs none of sessions, CSRF, auth or templates, and it is the panel's
hottest path. Database connections are handled as Django's handler does.
"""

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signals

from smmpanel.accounts.models import hash_api_key
from smmpanel.api import actions, refills_cancels
from smmpanel.api import dialects as d
from smmpanel.api.actions import ApiError, Request, authenticate
from smmpanel.api.ratelimit import within_limit
from smmpanel.api.transport import TransportError, header_key, read_params

log = logging.getLogger("smmpanel.api")
ACTIONS = {**actions.ACTIONS, **refills_cancels.ACTIONS}

StartResponse = Callable[..., Any]
_STATUS_LINE = {
    200: "200 OK",
    400: "400 Bad Request",
    413: "413 Content Too Large",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
}


def _json(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _respond(start_response: StartResponse, status: int, body: object) -> list[bytes]:
    payload = _json(body)
    start_response(
        _STATUS_LINE[status],
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *([("Retry-After", "1")] if status == 429 else []),
        ],
    )
    return [payload]


def _transport_error(dialect: d.Dialect, exc: TransportError) -> tuple[int, object]:
    if exc.status == 413:
        return 413, {"error": d.TOO_LARGE}
    if exc.code == "bad_encoding":
        return 200, dialect.error(d.BAD_ENCODING)
    return 200, dialect.error(d.BAD_ACTION)


def handle(dialect: d.Dialect, environ: dict[str, Any]) -> tuple[int, object]:
    """Answer one API request: (HTTP status, JSON body)."""
    try:
        params = read_params(environ, settings.SMMPANEL_API_MAX_BODY)
    except TransportError as exc:
        return _transport_error(dialect, exc)
    raw_key = params.get("key", "").strip() or header_key(environ)
    if not raw_key:
        return 200, dialect.error(d.INVALID_KEY)
    key_hash = hash_api_key(raw_key)
    if not within_limit(key_hash):
        return 429, {"error": d.RATE_LIMITED}
    idempotency_key = (
        environ.get("HTTP_IDEMPOTENCY_KEY", "").strip() or params.get("idempotency_key", "").strip()
    )
    request = Request(dialect, params, key_hash, idempotency_key)
    action = ACTIONS.get(params.get("action", "").strip().lower())
    try:
        if action is None:
            # A bad key is reported before a bad action.
            authenticate(request)
            raise ApiError(d.BAD_ACTION)
        return 200, action(request)
    except ApiError as exc:
        return 200, dialect.error(exc.code, exc.value)


class ApiApplication:
    def __call__(
        self, dialect: d.Dialect, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        # The same signals as Django's handler: they recycle database connections
        # (CONN_MAX_AGE, broken ones) and reset the debug query log.
        signals.request_started.send(sender=self.__class__, environ=environ)
        try:
            status, body = handle(dialect, environ)
        except Exception:
            log.exception("API request failed")
            status, body = 500, {"error": d.INTERNAL}
        finally:
            signals.request_finished.send(sender=self.__class__)
        return _respond(start_response, status, body)


api = ApiApplication()
