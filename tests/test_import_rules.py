"""Rules of the layout (docs/architecture.md), read from the source's imports: `accounts`
stands below everything of ours but the project's small helpers (the ledger stands on it, not the
other way round), the website imports nothing from the API (they share only
smmpanel/throttle.py, which belongs to neither), no view of the website imports another, and
`providers` speaks the protocol: it imports nothing from `orders` or `engine`, and neither
`orders` nor `catalog` imports it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "smmpanel"


def imported(source: str) -> set[str]:
    """Every module a source imports, as written (absolute imports: the project uses no other)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaching(app: str, outside: tuple[str, ...]) -> dict[str, list[str]]:
    """The modules of ours that a file of `app` imports from outside `outside`, by file."""
    found = {}
    for path in sorted((PACKAGE / app).rglob("*.py")):
        ours = {name for name in imported(path.read_text()) if name.startswith("smmpanel.")}
        bad = sorted(name for name in ours if not name.startswith(outside))
        if bad:
            found[str(path.relative_to(PACKAGE.parent))] = bad
    return found


def test_accounts_imports_nothing_of_ours_but_the_project_helpers() -> None:
    helpers = ("smmpanel.saving", "smmpanel.admin_base", "smmpanel.subcommands")  # docs/architecture.md
    assert reaching("accounts", ("smmpanel.accounts", *helpers)) == {}


def test_the_website_imports_nothing_from_the_api() -> None:
    everything_but_the_api = tuple(
        f"smmpanel.{path.stem}" for path in PACKAGE.iterdir() if path.stem not in ("api", "__pycache__")
    )
    assert reaching("web", everything_but_the_api) == {}


@pytest.mark.parametrize(
    "source",
    ["from smmpanel.ledger import services", "import smmpanel.ledger.money", "from smmpanel import ledger"],
)
def test_the_rule_sees_each_way_of_importing(source: str) -> None:
    assert any(name.startswith("smmpanel.ledger") for name in imported(source))


def views_imported(source: str) -> list[str]:
    """The website's view modules a source imports."""
    return sorted(name for name in imported(source) if name.startswith("smmpanel.web.views"))


def test_no_view_of_the_website_imports_another() -> None:
    # What two views share lives below them (a form, an app's function), never in a view.
    found = {
        path.name: views_imported(path.read_text())
        for path in sorted((PACKAGE / "web" / "views").glob("*.py"))
        if views_imported(path.read_text())
    }
    assert found == {}


@pytest.mark.parametrize(
    "source",
    [
        "from smmpanel.web.views.funds import spent",
        "from smmpanel.web.views import funds",
        "import smmpanel.web.views.apikeys",
    ],
)
def test_the_view_rule_sees_each_way_of_importing_a_view(source: str) -> None:
    assert views_imported(source)


def everything_but(*apps: str) -> tuple[str, ...]:
    return tuple(
        f"smmpanel.{path.stem}" for path in PACKAGE.iterdir() if path.stem not in (*apps, "__pycache__")
    )


def test_providers_import_nothing_from_orders_or_the_engine() -> None:
    assert reaching("providers", everything_but("orders", "engine")) == {}


@pytest.mark.parametrize("app", ["orders", "catalog"])
def test_orders_and_the_catalogue_import_nothing_from_providers(app: str) -> None:
    assert reaching(app, everything_but("providers")) == {}


def test_the_console_imports_nothing_from_the_engine_the_website_or_the_api() -> None:
    assert reaching("console", everything_but("engine", "web", "api")) == {}
