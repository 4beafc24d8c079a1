"""The mutation score of `make mutate`: the SQLite run and the PostgreSQL pass together.

Reads `mutmut results --all true` of each run (file arguments, the SQLite run first). A mutant
counts as killed when either run killed it: the PostgreSQL-only code is reached only by the
PostgreSQL pass, and its SQLite twin (the branch taken on SQLite) only by the SQLite run.
Prints the survivors and the score; docs/mutation.md records it with what each survivor is.
"""

import re
import sys
from collections import Counter

CAUGHT = {"killed", "timeout"}
MISSED = {"survived", "suspicious", "no tests"}
LINE = re.compile(r"^\s*(smmpanel\.\S+): (.+?)\s*$")


def read(path: str) -> dict[str, str]:
    with open(path, encoding="utf-8") as lines:
        return {m.group(1): m.group(2) for m in map(LINE.match, lines) if m}


def main(sqlite: str, postgresql: str) -> None:
    results = read(sqlite)
    for name, status in read(postgresql).items():
        if name in results and status in CAUGHT:
            results[name] = status
    survivors = sorted(name for name, status in results.items() if status in MISSED)
    for name in survivors:
        print(f"    {name}: {results[name]}")
    counts = Counter(results.values())
    caught = sum(counts[s] for s in CAUGHT)
    missed = sum(counts[s] for s in MISSED)
    unchecked = len(results) - caught - missed - counts["skipped"]
    share = 100 * caught / max(caught + missed, 1)
    print(
        f"Mutation score: {caught}/{caught + missed} killed ({share:.1f} %); {counts['survived']} survived, "
        f"{counts['no tests']} not reached by the tests, {unchecked} not checked yet"
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
