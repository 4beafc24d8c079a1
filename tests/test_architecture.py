"""The rules of docs/architecture.md that keep orders/ the only writer of orders, read from the source.

Each rule is checked on every module of smmpanel/ with `ast`, and each is shown to fail on
a small planted violation, so a rule that can no longer fail is seen.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "smmpanel"
LEDGER_WRITERS = ("orders/", "payments/", "ledger/")
# Modules outside LEDGER_WRITERS allowed to post to the ledger, each a known departure
# (docs/architecture.md) being moved; the list only ever shrinks. Empty: accounts/services.py,
# the last one, moved its opening balance and credit to ledger/accounts.py (issue 11).
POSTS_BY_EXCEPTION: set[str] = set()
STATE_FIELDS = {"status", "provider_state"}
STATE_MODELS = {"Order", "Refill", "OrderEvent"}  # a subscription is an Order


def _module_names(tree: ast.AST) -> tuple[set[str], set[str], set[str]]:
    """Local names bound to: the ledger services module, its `post`, and the order models."""
    ledgers, posts, models = set(), set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                name = alias.asname or alias.name
                if node.module == "smmpanel.ledger" and alias.name == "services":
                    ledgers.add(name)
                elif node.module == "smmpanel.ledger.services" and alias.name == "post":
                    posts.add(name)
                elif node.module.startswith("smmpanel.orders") and alias.name in STATE_MODELS:
                    models.add(name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "smmpanel.ledger.services":
                    ledgers.add(alias.asname or "smmpanel.ledger.services")
    return ledgers, posts, models


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    if isinstance(node, ast.Call):
        return _dotted(node.func)
    return "?"


def _root(node: ast.AST) -> str:
    return _dotted(node).split(".")[0]


def _ledger_posts(tree: ast.AST, ledgers: set[str], posts: set[str]) -> Iterator[int]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = _dotted(node.func)
        if called in posts or any(called == f"{module}.post" for module in ledgers):
            yield node.lineno


def _state_writes(tree: ast.AST, models: set[str]) -> Iterator[int]:
    """Assignments of .status/.provider_state (once the module knows the order models), updates
    of those fields through the models' managers, and events created by hand."""
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in ast.walk(target) if isinstance(t, ast.expr)]
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in STATE_FIELDS and models:
                yield from [node.lineno] if _root(target) != "self" else []
        if isinstance(node, ast.Call) and _root(node.func) in models:
            called = _dotted(node.func)
            written = {keyword.arg for keyword in node.keywords}  # None: **changes, unknown
            if called.endswith((".update", ".bulk_update")) and written & (STATE_FIELDS | {None}):
                yield node.lineno
            if called.startswith("OrderEvent") and called.endswith((".create", ".bulk_create")):
                yield node.lineno
            if called.endswith(".bulk_update") and any(
                isinstance(arg, ast.List | ast.Tuple | ast.Set)
                and any(isinstance(e, ast.Constant) and e.value in STATE_FIELDS for e in arg.elts)
                for arg in node.args[1:]
            ):
                yield node.lineno


def _ledger_imports(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        if any(name.startswith("smmpanel.ledger") for name in names):
            yield node.lineno


def violations(source: str, path: str) -> list[str]:
    """The rules broken by one module; `path` is relative to smmpanel/ (e.g. "engine/sync.py")."""
    tree = ast.parse(source)
    ledgers, posts, models = _module_names(tree)
    found = []
    if not path.startswith(LEDGER_WRITERS) and path not in POSTS_BY_EXCEPTION:
        found += [f"{path}:{line}: posts to the ledger" for line in _ledger_posts(tree, ledgers, posts)]
    if not path.startswith("orders/"):
        found += [f"{path}:{line}: writes an order's state or events" for line in _state_writes(tree, models)]
    if path.startswith("engine/"):
        found += [f"{path}:{line}: the engine imports the ledger" for line in _ledger_imports(tree)]
    return found


def _modules() -> Iterator[tuple[str, str]]:
    for file in sorted(PACKAGE.rglob("*.py")):
        path = file.relative_to(PACKAGE).as_posix()
        if "/migrations/" not in path:
            yield path, file.read_text(encoding="utf-8")


def test_the_rules_hold_in_every_module():
    found = [problem for path, source in _modules() for problem in violations(source, path)]
    assert found == []


def test_the_exceptions_are_still_needed():
    """An exception whose module no longer posts must go from the list."""
    sources = dict(_modules())
    for path in POSTS_BY_EXCEPTION:
        tree = ast.parse(sources[path])
        ledgers, posts, _ = _module_names(tree)
        assert list(_ledger_posts(tree, ledgers, posts)), f"{path} no longer posts: remove its exception"


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("engine/x.py", "from smmpanel.ledger import services as ledger\nledger.post(1, x, 'refund', 'r')\n"),
        ("web/views/x.py", "from smmpanel.ledger import services\nservices.post(1, x, 'charge', 'r')\n"),
        ("api/x.py", "from smmpanel.ledger.services import post as move\nmove(1, x, 'charge', 'r')\n"),
        ("catalog/x.py", "import smmpanel.ledger.services\nsmmpanel.ledger.services.post(1, x, 'k', 'r')\n"),
    ],
    ids=["module-alias", "module", "function-alias", "dotted"],
)
def test_a_ledger_post_outside_orders_payments_and_ledger_is_caught(path, source):
    assert any("posts to the ledger" in problem for problem in violations(source, path))
    for allowed in ("orders/x.py", "payments/x.py", "ledger/x.py"):
        assert violations(source, allowed) == []


@pytest.mark.parametrize(
    "body",
    [
        "order.status = Order.Status.CANCELED",
        "sub.provider_state = 'sent'",
        "refill.status, refill.next_check_at = 'rejected', None",
        "Order.objects.filter(pk=1).update(status='canceled')",
        "Refill.objects.filter(pk=1).update(provider_state='sent', updated_at=now)",
        "Order.objects.filter(pk__in=ids).update(updated_at=now, **changes)",
        "OrderEvent.objects.create(order_id=1, kind='finished', created_at=now)",
        "OrderEvent.objects.bulk_create([])",
        "Order.objects.bulk_update(orders, ['status'])",
    ],
)
def test_a_state_write_outside_orders_is_caught(body):
    source = f"from smmpanel.orders.models import Order, OrderEvent, Refill\n{body}\n"
    assert violations(source, "engine/x.py") == ["engine/x.py:2: writes an order's state or events"]
    assert violations(source, "orders/x.py") == []


def test_a_status_of_something_else_is_not_an_orders():
    assert violations("self.status = 200\n", "providers/client.py") == []
    assert violations("payment.status = 'confirmed'\n", "payments/services.py") == []


@pytest.mark.parametrize(
    "line",
    [
        "from smmpanel.ledger import services",
        "from smmpanel.ledger.money import charge_for",
        "from smmpanel import ledger",
        "import smmpanel.ledger.models",
    ],
)
def test_the_engine_importing_the_ledger_is_caught(line):
    assert violations(line + "\n", "engine/x.py") == ["engine/x.py:1: the engine imports the ledger"]
    assert violations(line + "\n", "orders/x.py") == []
