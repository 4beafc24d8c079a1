"""The benchmark's database: created from nothing, migrated, filled in bulk.

1,000 enabled services in 20 categories, 100 customers with an API key and an
opening deposit each, and 100,000 orders (a fifth of them the bench customer's),
each with its ledger charge and its `created` event, the balances reduced to
match: `smmpanel check-ledger` is OK on the result. Customers and deposits go
through the panel's own code (create_customer, ledger.post); the bulk rows are
written by set-based SQL in PostgreSQL itself, which takes a few seconds.

Django must be configured (DJANGO_SETTINGS_MODULE, DATABASE_URL) before
`seed` or `fixture` is called; `recreate_database` and `migrate` need no Django.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

BENCH_USER = "bench"
BENCH_BALANCE = Decimal(10**8)  # below the ledger's MAX_AMOUNT, and ample for any run
OTHER_BALANCE = Decimal(10**6)
PLATFORMS = [
    "Instagram",
    "TikTok",
    "YouTube",
    "Twitter",
    "Facebook",
    "Telegram",
    "Spotify",
    "Twitch",
    "LinkedIn",
    "Website",
]
KINDS = ["Followers", "Likes"]
# Of every 20 services: mostly Default, the rest spread over other types.
TYPE_CYCLE = ["default"] * 14 + ["package", "custom_comments", "mentions", "comment_likes", "poll", "seo"]


@dataclass(frozen=True)
class Fixture:
    """What the load generator needs to know about the seeded data."""

    key: str  # the bench customer's raw API key
    user_id: int
    order_ids: list[int]  # the bench customer's orders
    add_services: list[tuple[int, int, int]]  # (id, min, max) of Default services


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str) -> None:
    """Drop and create the database of `url`, connecting to its server's `postgres` db."""
    name = database_name(url)
    if "bench" not in name:
        raise SystemExit(
            f"refusing to drop database {name!r}: the bench database's name must contain 'bench'"
        )
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def database_exists(url: str) -> bool:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database_name(url)]).fetchone()
    return row is not None


def smmpanel(args: list[str], env: dict[str, str], timeout: float = 300) -> str:
    """Run the `smmpanel` command next to this interpreter; its output, or exit on failure."""
    exe = Path(sys.executable).with_name("smmpanel")
    done = subprocess.run(
        [str(exe), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"smmpanel {' '.join(args)} failed with exit code {done.returncode}")
    return done.stdout.strip()


def seed(
    *,
    customers: int = 100,
    categories: int = 20,
    services: int = 1000,
    orders: int = 100_000,
    bench_every: int = 5,
) -> None:
    """Fill a freshly migrated database. One order in `bench_every` is the bench customer's."""
    from django.db import connection, transaction

    from smmpanel.catalog.models import Category, CustomRate, Service
    from smmpanel.ledger.accounts import create_customer

    names = [f"{p} {k}" for p in PLATFORMS for k in KINDS][:categories]
    cats = Category.objects.bulk_create([Category(name=name, sort_order=i) for i, name in enumerate(names)])
    per_category = services // len(cats)
    rows = []
    for n in range(services):
        category = cats[min(n // per_category, len(cats) - 1)]
        type_ = TYPE_CYCLE[n % len(TYPE_CYCLE)]
        package = type_ == "package"
        rows.append(
            Service(
                category=category,
                type=type_,
                name=f"{category.name} #{n + 1} [{'Package' if package else 'Refill 30 days'}] "
                f"{['Real', 'HQ', 'Cheap', 'Instant'][n % 4]}",
                rate=Decimal(f"{(n * 37) % 900 + 10}") / Decimal(100),
                min=1 if package else [10, 50, 100][n % 3],
                max=1 if package else [10_000, 50_000, 100_000][n % 3],
                dripfeed=type_ == "default" and n % 2 == 0,
                refill=n % 3 == 0,
                cancel=n % 2 == 1,
                description=f"Start 0-1 h, speed 10k/day, refill {n % 60} days. " * 3,
                sort_order=n,
            )
        )
    Service.objects.bulk_create(rows, batch_size=500)

    bench, _raw = create_customer(BENCH_USER, email="bench@example.com", balance=BENCH_BALANCE)
    for i in range(1, customers):
        create_customer(f"customer{i:03d}", email=f"c{i}@example.com", balance=OTHER_BALANCE)
    some = Service.objects.order_by("id").values_list("id", "rate")[::20]
    CustomRate.objects.bulk_create(
        [CustomRate(user=bench, service_id=sid, rate=rate * Decimal("0.9")) for sid, rate in some]
    )

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH svc AS (SELECT array_agg(id ORDER BY id) AS ids FROM catalog_service),
            usr AS (SELECT array_agg(id ORDER BY id) AS ids FROM accounts_user
                    WHERE id <> %(bench)s),
            g AS (
                SELECT n,
                       CASE WHEN n %% %(every)s = 0 THEN %(bench)s
                            ELSE usr.ids[1 + (n * 7) %% cardinality(usr.ids)] END AS user_id,
                       svc.ids[1 + (n * 7919) %% cardinality(svc.ids)] AS service_id,
                       100 + (n * 37) %% 4900 AS quantity,
                       (ARRAY['completed', 'completed', 'completed', 'partial', 'in_progress',
                              'pending', 'processing', 'canceled'])[1 + n %% 8] AS status
                FROM generate_series(1, %(orders)s) AS n, svc, usr
            )
            INSERT INTO orders_order (user_id, service_id, kind, link, quantity, runs,
                interval_minutes, params, charge, source, status, provider_state,
                provider_order_id, provider_error, start_count, remains, created_at, updated_at)
            SELECT g.user_id, g.service_id, 'single', 'https://instagram.com/p/seed' || g.n,
                   q.quantity, NULL, NULL, '{}',
                   CASE WHEN s.type = 'package' THEN s.rate
                        ELSE round(s.rate * q.quantity / 1000, 6) END,
                   'api', g.status, 'sent', g.n::text, '', (g.n * 13) %% 10000,
                   CASE g.status WHEN 'completed' THEN 0 WHEN 'partial' THEN q.quantity / 3
                        ELSE q.quantity END,
                   now() - make_interval(secs => %(orders)s - g.n),
                   now() - make_interval(secs => %(orders)s - g.n)
            FROM g JOIN catalog_service s ON s.id = g.service_id
            CROSS JOIN LATERAL (SELECT CASE WHEN s.type = 'package' THEN 1
                                            ELSE g.quantity END AS quantity) AS q
            ORDER BY g.n
            """,
            {"bench": bench.pk, "every": bench_every, "orders": orders},
        )
        # Each order's charge in the ledger, balance_after running down from the deposit.
        cursor.execute(
            """
            INSERT INTO ledger_ledgerentry (user_id, kind, amount, balance_after, order_id,
                actor_id, memo, reference, created_at)
            SELECT o.user_id, 'charge', -o.charge,
                   d.amount - SUM(o.charge) OVER (PARTITION BY o.user_id ORDER BY o.id),
                   o.id, NULL, '', 'order:' || o.id || ':charge', o.created_at
            FROM orders_order o
            JOIN ledger_ledgerentry d ON d.user_id = o.user_id AND d.kind = 'deposit'
            ORDER BY o.id
            """
        )
        cursor.execute(
            """
            UPDATE ledger_account a SET balance = a.balance - t.total
            FROM (SELECT user_id, SUM(charge) AS total FROM orders_order GROUP BY user_id) t
            WHERE a.user_id = t.user_id
            """
        )
        cursor.execute(
            """
            INSERT INTO orders_orderevent (order_id, kind, data, created_at)
            SELECT id, 'created', jsonb_build_object('charge', charge::text), created_at
            FROM orders_order ORDER BY id
            """
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def fixture() -> Fixture:
    """A fresh key for the bench customer (raw keys are not stored) and the ids to ask for."""
    from smmpanel.accounts.models import ApiKey, User
    from smmpanel.catalog.models import Service
    from smmpanel.orders.models import Order

    user = User.objects.get(username=BENCH_USER)
    _key, raw = ApiKey.issue(user, name=f"bench {time.strftime('%Y-%m-%d %H:%M:%S')}")
    order_ids = list(
        Order.objects.filter(user=user, link__startswith="https://instagram.com/p/seed")
        .order_by("id")
        .values_list("id", flat=True)
    )
    add_services = list(
        Service.objects.filter(type="default", enabled=True, category__enabled=True)
        .order_by("id")
        .values_list("id", "min", "max")
    )
    return Fixture(raw, user.pk, order_ids, add_services)


LIMITERS = ("memory", "redis", "off")
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


def limiter_env(limiter: str, redis_url: str = DEFAULT_REDIS_URL) -> dict[str, str]:
    """Settings of the API rate limit for the bench: on (it is measured) but never reached.

    One key sends thousands of requests a second here, far over the default
    20/s: `memory` keeps the default per-process limiter with a huge rate,
    `redis` the shared one (one Redis round trip per request), `off` none.
    """
    if limiter == "off":
        return {"SMMPANEL_API_RATE": "0", "SMMPANEL_REDIS_URL": ""}
    huge = {"SMMPANEL_API_RATE": "1000000000", "SMMPANEL_API_BURST": "1000000000"}
    return {**huge, "SMMPANEL_REDIS_URL": redis_url if limiter == "redis" else ""}


def configure_django(url: str, data_dir: str, limiter: str = "memory") -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["SMMPANEL_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "smmpanel.settings"
    os.environ.update(limiter_env(limiter))
    import django

    django.setup()
