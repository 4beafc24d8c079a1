"""Benchmark of the engine: dispatch and status sync against an upstream with added latency.

    .venv/bin/python bench/engine.py [--orders 10000] [--active 100000] [--latency 0.02]
        [--threads 16] [--single-sample 1000] [--database-url URL]

Creates (drops first) a PostgreSQL database, starts the fake upstream panel of
tests/upstream.py on 127.0.0.1 with `--latency` seconds added to every answer,
and measures, in this process, with one worker's code:

1. dispatch: `--orders` queued orders sent by Worker.run_once() rounds until
   none is left; orders/s (target >= 200/s);
2. sync: `--active` sent orders, all due, checked by one full sync cycle;
   seconds (target <= 60 s) and upstream calls (target <= 1,000: 100 ids a call);
3. for comparison, the usual panel's way: one `status` call per order, timed on
   `--single-sample` orders and extrapolated to `--active`.

See bench/README.md. It exits 0 whatever it measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH), str(BENCH.parent / "tests")]

import seed as dbseed  # noqa: E402  (bench/seed.py: creating the bench database)
from upstream import FakeUpstream  # noqa: E402

DEFAULT_URL = "postgres://root@127.0.0.1:5432/smmpanel_engine_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_ENGINE_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL; the database is DROPPED and recreated (its name must contain 'bench')",
    )
    parser.add_argument("--orders", type=int, default=10_000, help="queued orders to dispatch")
    parser.add_argument("--active", type=int, default=100_000, help="sent orders to sync")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every upstream answer")
    parser.add_argument(
        "--threads", type=int, default=16, help="provider calls in flight (smmpanel worker --threads)"
    )
    parser.add_argument("--batch", type=int, default=200, help="orders claimed per round (--batch)")
    parser.add_argument("--single-sample", type=int, default=1000, help="orders timed one status call each")
    return parser.parse_args()


def setup(args: argparse.Namespace, upstream: FakeUpstream) -> tuple[object, object]:
    dbseed.recreate_database(args.database_url)
    data_dir = tempfile.mkdtemp(prefix="smmpanel-engine-bench-")
    env = {**os.environ, "DATABASE_URL": args.database_url, "SMMPANEL_DATA_DIR": data_dir}
    dbseed.smmpanel(["migrate", "-v0"], env)
    dbseed.configure_django(args.database_url, data_dir)
    from smmpanel.catalog.models import Category, Provider, ProviderService, Service
    from smmpanel.ledger.accounts import create_customer

    provider = Provider.objects.create(
        name="Upstream", url=upstream.url, api_key=upstream.key, requests_per_second=1000, timeout_seconds=10
    )
    linked = ProviderService.objects.create(
        provider=provider, external_id="1", name="Followers", type="default", rate="0.5", min=10, max=100000
    )
    category = Category.objects.create(name="Bench")
    service = Service.objects.create(
        category=category,
        name="Followers",
        rate="1",
        min=10,
        max=100000,
        provider=provider,
        provider_service=linked,
    )
    user, _key = create_customer("bench", balance=0)
    return service, user


def make_orders(service: object, user: object, count: int, *, sent: list[str] | None = None) -> None:
    """`count` orders at once (charge 0: the engine's work does not depend on money)."""
    from django.utils import timezone

    from smmpanel.orders.models import Order

    now = timezone.now()
    rows = (
        Order(
            user=user,
            service=service,
            link=f"https://example.com/{n}",
            quantity=100,
            charge=0,
            remains=100,
            created_at=now,
            updated_at=now,
            **(
                {}
                if sent is None
                else dict(
                    provider_state="sent",
                    provider_order_id=sent[n],
                    sent_at=now,
                    next_check_at=now,
                    provider=service.provider,
                )
            ),
        )
        for n in range(count)
    )
    Order.objects.bulk_create(rows, batch_size=2000)  # under PostgreSQL's 65,535 parameters a statement


def bench_dispatch(args: argparse.Namespace, service: object, user: object, upstream: FakeUpstream) -> dict:
    from smmpanel.engine.worker import Worker
    from smmpanel.orders.models import Order

    make_orders(service, user, args.orders)
    worker = Worker(threads=args.threads, batch=args.batch)
    started = time.perf_counter()
    while Order.objects.filter(provider_state="queued").exists():
        worker.run_once()
    seconds = time.perf_counter() - started
    sent = Order.objects.filter(provider_state="sent").count()
    return {
        "orders": sent,
        "seconds": seconds,
        "per_second": sent / seconds,
        "placed_upstream": len(upstream.placed),
    }


def bench_sync(args: argparse.Namespace, service: object, user: object, upstream: FakeUpstream) -> dict:
    from django.utils import timezone

    from smmpanel.engine import sync
    from smmpanel.orders.models import Order
    from smmpanel.providers.pacing import Pacer

    Order.objects.all().delete()
    ids = [
        upstream.place({"service": "1", "link": f"https://example.com/s{n}", "quantity": "100"}).id
        for n in range(args.active)
    ]
    for n, upstream_id in enumerate(ids):
        if n % 3 == 0:  # a third of them move: In progress, some remains delivered
            upstream.set_status(upstream_id, "In progress", remains=40, start_count=1000)
    make_orders(service, user, args.active, sent=ids)
    upstream.calls.clear()
    moment = timezone.now() + timedelta(seconds=1)
    pacer = Pacer()
    started = time.perf_counter()
    checked = 0
    while True:
        done = sync.sync(lambda: moment, pacer, limit=5000, threads=4)
        if not done:
            break
        checked += done
    seconds = time.perf_counter() - started
    calls = sum(1 for action, _ in upstream.calls if action == "status")
    return {"checked": checked, "seconds": seconds, "calls": calls}


def bench_single(args: argparse.Namespace, upstream: FakeUpstream) -> dict:
    """The usual panel: one status call per order."""
    from smmpanel.providers.client import ProviderClient

    ids = list(upstream.orders)[: args.single_sample]
    with ProviderClient(upstream.url, upstream.key, timeout=10) as client:
        started = time.perf_counter()
        for upstream_id in ids:
            client.status(upstream_id)
        seconds = time.perf_counter() - started
    return {"sample": len(ids), "seconds": seconds, "extrapolated": seconds * args.active / max(len(ids), 1)}


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    args = parse_args()
    with FakeUpstream(latency=args.latency, balance=Decimal(10**9)) as upstream:
        service, user = setup(args, upstream)
        print(
            f"engine benchmark: upstream latency {args.latency * 1000:.0f} ms, {os.cpu_count()} cores, "
            f"threads {args.threads}, batch {args.batch}",
            flush=True,
        )
        d = bench_dispatch(args, service, user, upstream)
        print(
            f"dispatch: {d['orders']} orders in {d['seconds']:.1f} s = {d['per_second']:.0f} orders/s "
            f"(placed upstream: {d['placed_upstream']})  target >= 200/s: {verdict(d['per_second'] >= 200)}",
            flush=True,
        )
        s = bench_sync(args, service, user, upstream)
        print(
            f"sync: {s['checked']} active orders in one cycle: {s['seconds']:.1f} s, "
            f"{s['calls']} upstream calls"
            f"  targets <= 60 s: {verdict(s['seconds'] <= 60)}, <= {args.active // 100} calls: "
            f"{verdict(s['calls'] <= args.active // 100)}",
            flush=True,
        )
        one = bench_single(args, upstream)
        print(
            f"one status call per order (the usual way): {one['sample']} calls in {one['seconds']:.1f} s; "
            f"for {args.active} orders: {args.active} calls, about {one['extrapolated']:.0f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
