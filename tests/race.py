"""One poll and ten webhook deliveries of the same deposit at once: the race every gateway's tests
run to show a deposit is credited once.

    from race import poll_and_deliveries

    polled, delivered = poll_and_deliveries(lambda: deposits.check(payment.pk), lambda: post(...)[0])
"""

import threading
from collections.abc import Callable

from django.db import connection


def poll_and_deliveries(
    poll: Callable[[], object], deliver: Callable[[], object], deliveries: int = 10
) -> tuple[object, list[object]]:
    """Run `poll` once and `deliver` `deliveries` times, each in a thread of its own (with its own
    database connection, closed after), released together; the poll's result and the deliveries'."""
    gate = threading.Barrier(deliveries + 1)
    results: dict[int, object] = {}

    def run(i: int) -> None:
        gate.wait()
        try:
            results[i] = poll() if i == 0 else deliver()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(deliveries + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == deliveries + 1, "a thread failed: see its traceback above"
    return results[0], [results[i] for i in range(1, deliveries + 1)]
