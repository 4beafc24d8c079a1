"""The bare baseline: the reseller API's benchmarked actions by hand, no Django.

A minimal WSGI application on raw psycopg 3 with one persistent connection per
thread (so per worker process and server thread), doing the same SQL as
smmpanel/api/actions.py, smmpanel/orders/placement.py and
smmpanel/ledger/services.py do, and answering the same v2 JSON. bench/api.py
serves it with the same WSGI server, worker and thread count as the panel, on
the same database, to tell how much of the panel's time per request is its own.

It handles only what the benchmark sends (v2, form-encoded POST, actions
status/services/balance/add for Default services) and is not a second
implementation of the API: no other types, no drip-feed, a plain link check.
Reads DATABASE_URL from the environment.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl

import psycopg

StartResponse = Callable[..., Any]
DSN = os.environ.get("DATABASE_URL", "")
CURRENCY = "USD"
PLACES = Decimal("0.000001")
FIVE = Decimal("0.00001")
MAX_IDS = 100

STATUS = {
    "pending": "Pending",
    "in_progress": "In progress",
    "processing": "Processing",
    "completed": "Completed",
    "partial": "Partial",
    "canceled": "Canceled",
    "active": "Active",
    "paused": "Paused",
    "expired": "Expired",
}
TYPE_NAMES = {
    "default": "Default",
    "package": "Package",
    "custom_comments": "Custom Comments",
    "custom_comments_package": "Custom Comments Package",
    "mentions": "Mentions",
    "mentions_with_hashtags": "Mentions with Hashtags",
    "mentions_custom_list": "Mentions Custom List",
    "mentions_hashtag": "Mentions Hashtag",
    "mentions_user_followers": "Mentions User Followers",
    "mentions_media_likers": "Mentions Media Likers",
    "comment_likes": "Comment Likes",
    "comment_replies": "Comment Replies",
    "poll": "Poll",
    "invites_from_groups": "Invites from Groups",
    "seo": "SEO",
    "subscriptions": "Subscriptions",
}

# The same statements as smmpanel/api/actions.py.
CALLER = (
    "FROM accounts_apikey k JOIN accounts_user u ON u.id = k.user_id "
    "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled"
)
ORDER_COLUMNS = "o.id, o.status, o.charge, o.start_count, o.remains, o.kind, o.params"
SQL_AUTH = f"SELECT k.id, k.user_id {CALLER}"
SQL_BALANCE = (
    "SELECT a.balance FROM accounts_apikey k JOIN accounts_user u ON u.id = k.user_id "
    "LEFT JOIN ledger_account a ON a.user_id = u.id "
    "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled"
)
SQL_STATUS_ONE = (
    f"SELECT k.user_id, {ORDER_COLUMNS} FROM accounts_apikey k JOIN accounts_user u "
    "ON u.id = k.user_id LEFT JOIN orders_order o ON o.id = %s AND o.user_id = k.user_id "
    "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled"
)
SQL_RUNS = "SELECT id, parent_id FROM orders_order WHERE parent_id = ANY(%s) AND kind = 'run' ORDER BY id"
SQL_SERVICES = (
    "SELECT s.id, s.name, s.type, c.name, COALESCE(r.rate, s.rate), s.min, s.max, "
    "s.dripfeed, s.refill, s.cancel FROM catalog_service s "
    "JOIN catalog_category c ON c.id = s.category_id "
    "LEFT JOIN catalog_customrate r ON r.service_id = s.id AND r.user_id = %s "
    "WHERE s.enabled AND c.enabled ORDER BY c.sort_order, s.category_id, s.sort_order, s.id"
)
SQL_SERVICE_TERMS = (
    "SELECT k.id, k.user_id, s.id, s.type, COALESCE(r.rate, s.rate), s.min, s.max, "
    "s.dripfeed FROM accounts_apikey k JOIN accounts_user u ON u.id = k.user_id "
    "LEFT JOIN catalog_service s ON s.id = %s AND s.enabled AND EXISTS "
    "(SELECT 1 FROM catalog_category c WHERE c.id = s.category_id AND c.enabled) "
    "LEFT JOIN catalog_customrate r ON r.service_id = s.id AND r.user_id = k.user_id "
    "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled"
)
# placement.place and ledger.post, in one transaction.
SQL_ACTIVE_LINK = (
    "SELECT 1 FROM orders_order WHERE user_id = %s AND service_id = %s AND link = %s "
    "AND status IN ('pending', 'in_progress', 'processing', 'active', 'paused') LIMIT 1"
)
SQL_DEBIT = (
    "UPDATE ledger_account SET balance = balance - %s WHERE user_id = %s AND balance >= %s RETURNING balance"
)
SQL_INSERT_ORDER = (
    "INSERT INTO orders_order (user_id, service_id, kind, link, quantity, runs, "
    "interval_minutes, params, charge, source, api_key_id, status, provider_state, "
    "provider_order_id, provider_error, start_count, remains, created_at, updated_at) "
    "VALUES (%s, %s, 'single', %s, %s, NULL, NULL, '{}', %s, 'api', %s, 'pending', 'queued', "
    "'', '', 0, %s, %s, %s) RETURNING id"
)
SQL_INSERT_ENTRY = (
    "INSERT INTO ledger_ledgerentry (user_id, kind, amount, balance_after, order_id, "
    "actor_id, memo, reference, created_at) VALUES (%s, 'charge', %s, %s, %s, NULL, '', %s, %s)"
)
SQL_INSERT_EVENT = (
    "INSERT INTO orders_orderevent (order_id, kind, data, created_at) VALUES (%s, 'created', %s, %s)"
)


class Refused(Exception):
    """Answered as {"error": text} with HTTP 200, like the panel does."""


class NoFunds(Exception):
    pass


_local = threading.local()


def connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(DSN, autocommit=True)
        _local.conn = conn
    return conn


def drop_connection() -> None:
    conn = getattr(_local, "conn", None)
    _local.conn = None
    if conn is not None:
        with contextlib.suppress(psycopg.Error):
            conn.close()


def display(amount: Decimal, places: Decimal) -> str:
    return str(amount.quantize(places, rounding=ROUND_HALF_UP))


def normalised(amount: Decimal) -> str:
    text = format(amount.normalize(), "f")
    return text if text != "-0" else "0"


def order_id_of(raw: str) -> int:
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else 0


def order_body(row: tuple[Any, ...], runs: list[int] | None) -> dict[str, Any]:
    _id, status, charge, start_count, remains, _kind, _params = row
    body: dict[str, Any] = {
        "charge": display(charge, FIVE),
        "start_count": str(start_count),
        "status": STATUS[status],
        "remains": str(remains),
        "currency": CURRENCY,
    }
    if runs is not None:
        body["runs"] = str(len(runs))
        body["orders"] = runs
    return body


def runs_of(conn: psycopg.Connection[Any], parents: list[int]) -> dict[int, list[int]]:
    runs: dict[int, list[int]] = {pid: [] for pid in parents}
    if parents:
        for child, parent in conn.execute(SQL_RUNS, [parents]).fetchall():
            runs[parent].append(child)
    return runs


def authenticate(conn: psycopg.Connection[Any], key_hash: str) -> tuple[int, int]:
    row = conn.execute(SQL_AUTH, [key_hash]).fetchone()
    if row is None:
        raise Refused("Invalid API key")
    return row[0], row[1]


def status(conn: psycopg.Connection[Any], key_hash: str, params: dict[str, str]) -> Any:
    many = params.get("orders", "").strip()
    if many:
        _key_id, user_id = authenticate(conn, key_hash)
        ids = list(dict.fromkeys(p.strip() for p in many.split(",") if p.strip()))
        if len(ids) > MAX_IDS:
            raise Refused("Too many IDs: at most 100")
        wanted = [n for n in map(order_id_of, ids) if n]
        rows: list[tuple[Any, ...]] = []
        if wanted:
            marks = ", ".join(["%s"] * len(wanted))
            rows = conn.execute(
                f"SELECT {ORDER_COLUMNS} FROM orders_order o WHERE o.user_id = %s AND o.id IN ({marks})",
                [user_id, *wanted],
            ).fetchall()
        found = {row[0]: row for row in rows}
        runs = runs_of(conn, [row[0] for row in rows if row[5] == "dripfeed"])
        answer: dict[str, Any] = {}
        for raw in ids:
            row = found.get(order_id_of(raw))
            answer[raw] = (
                order_body(row, runs.get(row[0])) if row is not None else {"error": "Incorrect order ID"}
            )
        return answer
    one = order_id_of(params.get("order", ""))
    row = conn.execute(SQL_STATUS_ONE, [one, key_hash]).fetchone()
    if row is None:
        raise Refused("Invalid API key")
    if row[1] is None:
        raise Refused("Incorrect order ID")
    runs = runs_of(conn, [row[1]])[row[1]] if row[6] == "dripfeed" else None
    return order_body(row[1:], runs)


def services(conn: psycopg.Connection[Any], key_hash: str, params: dict[str, str]) -> Any:
    _key_id, user_id = authenticate(conn, key_hash)
    return [
        {
            "service": sid,
            "name": name,
            "type": TYPE_NAMES[type_],
            "category": category,
            "rate": normalised(rate),
            "min": str(min_),
            "max": str(max_),
            "dripfeed": dripfeed,
            "refill": refill,
            "cancel": cancel,
        }
        for sid, name, type_, category, rate, min_, max_, dripfeed, refill, cancel in conn.execute(
            SQL_SERVICES, [user_id]
        ).fetchall()
    ]


def balance(conn: psycopg.Connection[Any], key_hash: str, params: dict[str, str]) -> Any:
    row = conn.execute(SQL_BALANCE, [key_hash]).fetchone()
    if row is None:
        raise Refused("Invalid API key")
    return {"balance": display(Decimal(0) if row[0] is None else row[0], FIVE), "currency": CURRENCY}


def add(conn: psycopg.Connection[Any], key_hash: str, params: dict[str, str]) -> Any:
    wanted = order_id_of(params.get("service", ""))
    row = conn.execute(SQL_SERVICE_TERMS, [wanted, key_hash]).fetchone()
    if row is None:
        raise Refused("Invalid API key")
    key_id, user_id, sid, type_, rate, min_, max_, _dripfeed = row
    if sid is None or type_ != "default":
        raise Refused("Incorrect service ID")
    link = params.get("link", "").strip()
    if not link.startswith(("https://", "http://")) or len(link) > 2048:
        raise Refused("Incorrect link")
    quantity = order_id_of(params.get("quantity", ""))
    if quantity <= 0:
        raise Refused("Incorrect quantity")
    if quantity < min_:
        raise Refused(f"Quantity less than minimal {min_}")
    if quantity > max_:
        raise Refused(f"Quantity more than maximum {max_}")
    charge = (rate * quantity / 1000).quantize(PLACES, rounding=ROUND_HALF_UP)
    now = datetime.now(UTC)
    try:
        with conn.transaction():
            if conn.execute(SQL_ACTIVE_LINK, [user_id, sid, link]).fetchone() is not None:
                raise Refused(
                    "You have active order with this link. Please wait until order being completed."
                )
            debited = conn.execute(SQL_DEBIT, [charge, user_id, charge]).fetchone()
            if debited is None:
                raise NoFunds
            order_id = conn.execute(
                SQL_INSERT_ORDER, [user_id, sid, link, quantity, charge, key_id, quantity, now, now]
            ).fetchone()[0]  # type: ignore[index]
            conn.execute(
                SQL_INSERT_ENTRY,
                [user_id, -charge, debited[0], order_id, f"order:{order_id}:charge", now],
            )
            conn.execute(SQL_INSERT_EVENT, [order_id, json.dumps({"charge": str(charge)}), now])
    except NoFunds:
        raise Refused("Not enough funds on balance") from None
    return {"order": order_id}


ACTIONS: dict[str, Callable[[psycopg.Connection[Any], str, dict[str, str]], Any]] = {
    "status": status,
    "services": services,
    "balance": balance,
    "add": add,
}


def respond(start_response: StartResponse, status_line: str, body: object) -> list[bytes]:
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    start_response(
        status_line,
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(payload))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ],
    )
    return [payload]


def application(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO", "") not in {"/api/v2", "/api/v2/"}:
        return respond(start_response, "404 Not Found", {"error": "Not found"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length > 0 else b""
    params = {k.decode(): v.decode() for k, v in parse_qsl(raw, keep_blank_values=True)}
    key = params.get("key", "").strip()
    if not key:
        return respond(start_response, "200 OK", {"error": "Invalid API key"})
    key_hash = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    action = ACTIONS.get(params.get("action", "").strip().lower())
    try:
        conn = connection()
        if action is None:
            authenticate(conn, key_hash)
            raise Refused("Incorrect request")
        return respond(start_response, "200 OK", action(conn, key_hash, params))
    except Refused as exc:
        return respond(start_response, "200 OK", {"error": str(exc)})
    except psycopg.Error as exc:
        drop_connection()
        return respond(start_response, "500 Internal Server Error", {"error": repr(exc)})
