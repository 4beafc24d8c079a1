"""Benchmark of the operator console's busiest pages on the bench database (100,000 orders).

    .venv/bin/python bench/console.py [--requests 100] [--reuse] [--spread-days 30]
        [--database-url URL] [--show-sql] [--only TEXT]

Creates (drops first) a PostgreSQL database, seeds it as bench/api.py does (bench/seed.py:
1,000 services, 100 customers, 100,000 orders with their charges and `created` events), then
makes it look like a month of a working panel:

- the orders' and their ledger entries' times spread evenly over the last `--spread-days` days
  (the seed puts them all in the last 28 hours), each sent order with its `sent_at` and a
  provider cost (70 % of its charge);
- one in ten finished orders refunded in part; one in a hundred orders `unknown`, one in a
  hundred `failed`; a deposit a day per customer;
- one provider with an hour of upstream calls (3,600, one a second), and a worker's heartbeat.

Then it times, in this process through Django's test client (the whole request: middleware,
session, the console's guard, the queries, the template), `--requests` requests of each page
after 3 unmeasured ones, signed in as an administrator past the second factor:

- the dashboard (/console/), for an administrator (money) and for support (no money);
- the orders list (/console/orders/): unfiltered, filtered by status, searched by link. The list
  is another part of the console: if /console/orders/ answers 404 here, it is skipped, saying so;
- the reports (/console/reports/...), over the last 30 days: by day, by service, by provider, by
  customer, the top customers and deposits by method (skipped the same way where not there).

`--only TEXT` measures only the pages whose name contains TEXT (e.g. `--only reports`).

For each page it prints p50 / p95 / max in ms (target: p95 < 150 ms) and the queries one request
runs (django.test.utils.CaptureQueriesContext), with their times. It exits 0 whatever it measures.
See bench/README.md ("The console").
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

import seed as dbseed  # noqa: E402  (bench/seed.py: creating the bench database)

DEFAULT_URL = "postgres://root@127.0.0.1:5432/smmpanel_console_bench"
TARGET_P95_MS = 150.0
WARM_UP = 3


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_CONSOLE_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL; the database is DROPPED and recreated (its name must contain 'bench')",
    )
    parser.add_argument("--requests", type=int, default=100, help="measured requests per page")
    parser.add_argument("--spread-days", type=int, default=30, help="days the seeded orders are spread over")
    parser.add_argument("--reuse", action="store_true", help="reuse the database if it exists (no seeding)")
    parser.add_argument("--show-sql", action="store_true", help="print each query's SQL in full")
    parser.add_argument("--only", default="", help="measure only the pages whose name contains this")
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> None:
    """The bench database, seeded and made to look like a month of work (see the module's doc)."""
    data_dir = tempfile.mkdtemp(prefix="smmpanel-console-bench-")
    env = {**os.environ, "DATABASE_URL": args.database_url, "SMMPANEL_DATA_DIR": data_dir}
    reuse = args.reuse and dbseed.database_exists(args.database_url)
    if not reuse:
        dbseed.recreate_database(args.database_url)
        dbseed.smmpanel(["migrate", "-v0"], env)
    else:
        dbseed.smmpanel(["migrate", "-v0"], env)  # a database of an older commit: its new tables
    dbseed.configure_django(args.database_url, data_dir)
    if reuse:
        print("reusing the bench database as it is")
        return
    started = time.perf_counter()
    dbseed.seed()
    a_month_of_work(args.spread_days)
    print(f"seeded in {time.perf_counter() - started:.1f} s")


def a_month_of_work(days: int) -> None:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from smmpanel.catalog.models import Provider
    from smmpanel.providers import beats
    from smmpanel.providers.models import UpstreamCall

    seconds = max(days, 1) * 86_400
    with transaction.atomic(), connection.cursor() as cursor:
        # Orders evenly over the days (the newest now), sent a few seconds after they were placed.
        cursor.execute(
            """
            WITH span AS (SELECT min(id) AS first, max(id) AS last FROM orders_order)
            UPDATE orders_order o SET
                created_at = now() - make_interval(secs => (span.last - o.id)::float
                                                   * %(seconds)s / greatest(span.last - span.first, 1)),
                provider_state = CASE WHEN o.id %% 100 = 1 THEN 'unknown'
                                      WHEN o.id %% 100 = 2 THEN 'failed' ELSE 'sent' END,
                cost = CASE WHEN o.id %% 100 IN (1, 2) THEN NULL ELSE round(o.charge * 0.7, 6) END
            FROM span
            """,
            {"seconds": seconds},
        )
        cursor.execute(
            """
            UPDATE orders_order SET updated_at = created_at,
                sent_at = CASE WHEN provider_state = 'sent' THEN created_at + interval '5 seconds' END
            """
        )
        cursor.execute(
            """
            UPDATE ledger_ledgerentry e SET created_at = o.created_at
            FROM orders_order o WHERE e.order_id = o.id
            """
        )
        cursor.execute("UPDATE orders_orderevent e SET created_at = o.created_at FROM orders_order o "
                       "WHERE e.order_id = o.id")  # fmt: skip
    # Refunds and deposits through the ledger's own post, as the panel writes them.
    refund_some_and_deposit_daily(days)
    provider = Provider.objects.create(name="Upstream", url="https://upstream.example", last_balance=1234)
    now = timezone.now()
    UpstreamCall.objects.bulk_create(
        (
            UpstreamCall(
                provider=provider,
                action="status",
                outcome="ok" if n % 50 else "timeout",
                latency_ms=80 + n % 400,
                created_at=now - timedelta(seconds=n),
            )
            for n in range(3600)
        ),
        batch_size=2000,
    )
    beats.beat("bench-worker", "bench", 1, now, now)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def refund_some_and_deposit_daily(days: int) -> None:
    from datetime import timedelta
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from smmpanel.accounts.models import User
    from smmpanel.ledger import services as ledger
    from smmpanel.ledger.models import LedgerEntry
    from smmpanel.ledger.money import refund_for
    from smmpanel.orders.models import Order

    partial = Order.objects.filter(status="partial").values_list(
        "id", "user_id", "charge", "remains", "quantity"
    )
    with transaction.atomic():
        for order_id, user_id, charge, remains, quantity in partial[::10]:
            amount = refund_for(charge, remains, quantity)
            if amount > 0:
                when = Order.objects.filter(pk=order_id).values_list("created_at", flat=True).get()
                ledger.post(
                    user_id,
                    amount,
                    LedgerEntry.Kind.REFUND,
                    f"order:{order_id}:refund",
                    order_id=order_id,
                    now=when,
                )
        now = timezone.now()
        for user_id in User.objects.values_list("id", flat=True):
            for day in range(days):
                ledger.post(user_id, Decimal("25"), LedgerEntry.Kind.DEPOSIT, f"bench:{user_id}:{day}",
                            now=now - timedelta(days=day, hours=1))  # fmt: skip


def staff_clients() -> dict[str, object]:
    from django.conf import settings
    from staff import make_staff, signed_in

    from smmpanel.accounts.models import User

    # The test client's host allowed. Not setup_test_environment(): it instruments every template
    # render to send a signal the client answers by copying the context, a cost per included
    # template (per row of a list) that production never pays.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    clients = {}
    for role in ("administrator", "support"):
        member = User.objects.filter(username=f"bench-{role}").first() or make_staff(f"bench-{role}", role)
        clients[role] = signed_in(member)
    return clients


def p(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def measure(client: object, url: str, requests: int, show_sql: bool) -> dict[str, object] | None:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()  # the first look reads the 30 days (later ones read today and the cache)
    started = time.perf_counter()
    first = client.get(url)  # type: ignore[attr-defined]
    cold = (time.perf_counter() - started) * 1000
    if first.status_code == 404:
        return None
    assert first.status_code == 200, f"GET {url}: HTTP {first.status_code}"
    for _ in range(WARM_UP - 1):
        client.get(url)  # type: ignore[attr-defined]
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)  # type: ignore[attr-defined]
    return {
        "cold": cold,
        "p50": statistics.median(times),
        "p95": p(times, 0.95),
        "max": max(times),
        "queries": [(float(q["time"]) * 1000, q["sql"]) for q in queries.captured_queries],
        "show_sql": show_sql,
    }


def report(name: str, url: str, figures: dict[str, object] | None) -> bool:
    if figures is None:
        print(f"\n{name}  GET {url}\n  SKIPPED: {url} answers 404 on this branch (the page is not here yet)")
        return True
    verdict = "PASS" if figures["p95"] < TARGET_P95_MS else "MISS"  # type: ignore[operator]
    queries: list[tuple[float, str]] = figures["queries"]  # type: ignore[assignment]
    print(
        f"\n{name}  GET {url}\n  p50 {figures['p50']:.1f} ms  p95 {figures['p95']:.1f} ms  "
        f"max {figures['max']:.1f} ms  -> {verdict} (p95 < {TARGET_P95_MS:.0f} ms); "
        f"first look, nothing cached: {figures['cold']:.1f} ms\n"
        f"  {len(queries)} queries, {sum(ms for ms, _ in queries):.1f} ms in the database:"
    )
    for ms, sql in queries:
        text = sql if figures["show_sql"] else (sql[:160] + (" ..." if len(sql) > 160 else ""))
        print(f"  {ms:8.2f} ms  {text}")
    return verdict == "PASS"


def main() -> int:
    args = parse_args()
    prepare(args)
    from smmpanel.orders.models import Order

    count = Order.objects.count()
    print(f"{count:,} orders; measuring {args.requests} requests a page after {WARM_UP} unmeasured")
    clients = staff_clients()
    link = Order.objects.order_by("-id").values_list("link", flat=True)[500]
    pages = [
        ("dashboard (administrator)", clients["administrator"], "/console/"),
        ("dashboard (support: no money)", clients["support"], "/console/"),
        ("orders list", clients["administrator"], "/console/orders/"),
        ("orders list, status In progress", clients["administrator"], "/console/orders/?status=in_progress"),
        (
            "orders list, searched by link",
            clients["administrator"],
            f"/console/orders/?q={link.split('//')[1]}",
        ),
    ]
    pages += [
        (f"reports: {name}, 30 days", clients["administrator"], f"/console/reports/{path}?preset=30d")
        for name, path in [
            ("by day", ""),
            ("by service", "service/"),
            ("by provider", "provider/"),
            ("by customer", "customer/"),
            ("top customers", "top-customers/"),
            ("deposits by method", "deposits/"),
        ]
    ]
    passed = True
    for name, client, url in [page for page in pages if args.only in page[0]]:
        before = os.getloadavg()[0]
        passed &= report(name, url, measure(client, url, args.requests, args.show_sql))
        after = os.getloadavg()[0]
        print(f"  load average (1 min, {os.cpu_count()} CPUs) before {before:.1f}, after {after:.1f}")
    print("\nall measured pages PASS" if passed else "\nsome page MISSES the target")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
