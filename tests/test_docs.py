"""The repository's documents stand alone, and what they name exists.

A reader of README.md and docs/*.md has this repository and nothing else: every link
must land on a file of it (and a heading of that file, when it names one), and no
document may send the reader to the project's working folders. Console paths written
as *Section › Entry* must be sections and entries of the real operator console, and
permissions written as *section | model | name* must be the real permissions' names.
"""

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory

from smmpanel.accounts.models import User

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`+([^`\n]+)`+")
_INLINE_LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.MULTILINE)
_HTML_LINK = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_AUTOLINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^>\s]+)>")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# A repository path in a code span: `tests/test_x.py`, `docs/api.md`, `../x/y.txt`.
_PATH_SPAN = re.compile(
    r"^(?:\.{1,2}/)*[\w.-]+(?:/[\w.-]+)+\.(?:md|py|txt|json|toml|po|html|css|js|cfg|ini|ya?ml)$"
)
_WEB_SCHEMES = {"http", "https", "mailto"}

# The project's working folders, which a user of the repository does not have.
_OUTSIDE = [
    re.compile(r"shared (?:folder|directory)", re.IGNORECASE),
    re.compile(r"(?:\.\./|/work/)shared\b"),
    re.compile(r"\bspec/api\.md\b"),
    re.compile(r"\bseed/|api-page-es\.txt"),
    re.compile(r"(?<![\w/])design\.md\b"),
    re.compile(r"\bwhiteboard\.json\b"),
]

# Italic, on one sentence's worth of words: `*Payments › Payments*`, `*Payments | payment | Can ...*`.
_CONSOLE_PATH = re.compile(r"(?<!\*)\*([^*.:;()|]{1,60}?›[^*.:;()|]{1,120}?)\*(?!\*)")
_PERMISSION = re.compile(r"(?<!\*)\*([^*|]{1,60}? \| [^*|]{1,60}? \| [^*|]{1,120}?)\*(?!\*)")


def prose(text: str) -> str:
    """The text without its fenced code blocks."""
    return _FENCE.sub("", text)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its words
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(document: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for heading in _HEADING.findall(prose(document.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    body = _CODE_SPAN.sub("", prose(text))
    found = _INLINE_LINK.findall(body) + _REFERENCE.findall(body) + _HTML_LINK.findall(body)
    return found + _AUTOLINK.findall(body)


def _inside(path: Path) -> bool:
    return path == ROOT or ROOT in path.parents


def link_problem(document: Path, target: str) -> str | None:
    """Why `target`, linked from `document`, leaves the repository or leads nowhere; None if fine."""
    parts = urlsplit(target)
    if parts.scheme.lower() in _WEB_SCHEMES and (parts.netloc or parts.scheme.lower() == "mailto"):
        return None
    if parts.scheme or parts.netloc:
        return "not a web address and not a file of the repository"
    path = unquote(parts.path)
    if path.startswith(("/", "~", "\\")):
        return "an absolute path: outside the repository"
    resolved = (document.parent / path).resolve() if path else document
    if not _inside(resolved):
        return "leaves the repository"
    if not resolved.exists():
        return "no such file in the repository"
    if parts.fragment and resolved.suffix == ".md" and parts.fragment not in anchors(resolved):
        return f"{resolved.relative_to(ROOT)} has no heading #{parts.fragment}"
    return None


def path_problem(document: Path, span: str) -> str | None:
    """Why a repository path named in a code span is not one; None if it is."""
    for base in (ROOT, document.parent, ROOT / "smmpanel"):  # `orders/placement.py` is the package's
        resolved = (base / span).resolve()
        if _inside(resolved) and resolved.exists():
            return None
    return "names a file the repository does not have"


def problems(document: Path, text: str) -> list[str]:
    """Every link or mention in `text` that takes the reader out of the repository."""
    found = []
    for target in links(text):
        problem = link_problem(document, target)
        if problem:
            found.append(f"link {target}: {problem}")
    for span in _CODE_SPAN.findall(prose(text)):
        if _PATH_SPAN.match(span.strip()):
            problem = path_problem(document, span.strip())
            if problem:
                found.append(f"`{span}`: {problem}")
    for pattern in _OUTSIDE:
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"line {line}: {match.group(0)!r} is outside the repository")
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_document_stays_inside_the_repository(document: Path) -> None:
    found = problems(document, document.read_text())
    assert not found, "\n".join(found)


def test_the_check_catches_every_way_out() -> None:
    readme = ROOT / "README.md"
    text = "\n".join(
        [
            "[contract](../shared/spec/api.md)",
            "[design](/work/shared/design.md)",
            "[home](~/notes.md)",
            "[file](file:///etc/passwd)",
            "[gone](docs/no-such-page.md)",
            "[heading](docs/api.md#no-such-heading)",
            "[up](../../etc/passwd)",
            "[ref]: ../outside.md",
            '<a href="/etc/hosts">hosts</a>',
            "See `spec/api.md` and `seed/api-page-es.txt` in the project's shared folder, and design.md.",
        ]
    )
    found = problems(readme, text)
    for expected in [
        "link ../shared/spec/api.md: leaves the repository",
        "link /work/shared/design.md: an absolute path",
        "link ~/notes.md: an absolute path",
        "link file:///etc/passwd: not a web address",
        "link docs/no-such-page.md: no such file",
        "link docs/api.md#no-such-heading: docs/api.md has no heading",
        "link ../../etc/passwd: leaves the repository",
        "link ../outside.md: leaves the repository",
        "link /etc/hosts: an absolute path",
        "`spec/api.md`: names a file the repository does not have",
        "'shared folder' is outside the repository",
        "'../shared' is outside the repository",
        "'design.md' is outside the repository",
        "'api-page-es.txt' is outside the repository",
    ]:
        assert any(problem.startswith(expected) or expected in problem for problem in found), expected


def test_the_check_lets_through_what_stays_inside() -> None:
    readme = ROOT / "README.md"
    text = "\n".join(
        [
            "[api](docs/api.md) [errors](docs/api.md#errors) [top](#smmpanel)",
            "[bench](bench/README.md) [site](https://example.com/x) [mail](mailto:ops@example.com)",
            "`tests/test_docs.py` `/api/v2` `/usr/bin/chromium` shared by every web process",
            "`orders/placement.py` (the package's own path), **999,999,999.999999** *the others*",
            "```sh\ncurl [x](../outside) $PANEL/api/v2\n```",
        ]
    )
    assert problems(readme, text) == []


def console_sections() -> dict[str, set[str]]:
    """The operator console's index as a superuser sees it: section -> its entries."""
    request = RequestFactory().get("/admin/")
    request.user = User(is_superuser=True, is_staff=True, is_active=True)
    return {app["name"]: {m["name"] for m in app["models"]} for app in admin.site.get_app_list(request)}


def console_paths(text: str) -> list[list[str]]:
    flat = " ".join(_CODE_SPAN.sub("", prose(text)).split())
    return [[part.strip() for part in path.split("›")] for path in _CONSOLE_PATH.findall(flat)]


def console_path_problems(text: str) -> list[str]:
    sections = console_sections()
    found = []
    for section, entry, *_rest in console_paths(text):
        if section not in sections:
            found.append(
                f"{section} › {entry}: no console section {section!r} (there are {sorted(sections)})"
            )
        elif entry not in sections[section]:
            found.append(f"{section} › {entry}: {section!r} holds {sorted(sections[section])}")
    rest = _CONSOLE_PATH.sub("", " ".join(_CODE_SPAN.sub("", prose(text)).split()))
    for match in re.finditer("›", rest):
        context = rest[max(0, match.start() - 30) : match.end() + 30]
        found.append(f"{context!r}: a › outside an *italic* console path, which this test cannot check")
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_console_paths_are_the_consoles_own(document: Path) -> None:
    found = console_path_problems(document.read_text())
    assert not found, "\n".join(found)


def test_operator_guide_names_console_paths() -> None:
    """The operator guide does lead through the console (so the test above checks something)."""
    paths = console_paths((ROOT / "docs" / "operator.md").read_text())
    assert ["Customers and API keys", "Users"] in [path[:2] for path in paths]


def test_the_console_path_check_catches_a_wrong_name() -> None:
    assert console_path_problems("a customer's page (*Accounts › Users*)") == [
        f"Accounts › Users: no console section 'Accounts' (there are {sorted(console_sections())})"
    ]
    assert console_path_problems("*Payments › Deposits*") == [
        "Payments › Deposits: 'Payments' holds ['Payments']"
    ]
    assert console_path_problems("(Payments › Payments)") == [
        "'(Payments › Payments)': a › outside an *italic* console path, which this test cannot check"
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_permissions_are_named_as_the_console_names_them(document: Path) -> None:
    text = " ".join(_CODE_SPAN.sub("", prose(document.read_text())).replace("\\|", "|").split())
    named = set(_PERMISSION.findall(text))
    real = {str(permission) for permission in Permission.objects.select_related("content_type")}
    unknown = sorted(named - real)
    assert not unknown, "\n".join(unknown)
    if document.name == "operator.md":
        assert len(named) >= 3


def section(text: str, heading: str) -> str:
    """The text under `heading` up to the next heading of the same level."""
    level = heading.split(" ", 1)[0]
    body = text.split(f"\n{heading}\n", 1)[1]
    return re.split(rf"\n{level} ", body, maxsplit=1)[0]


def table_rows(text: str) -> list[list[str]]:
    """Each row of the Markdown tables in `text`, as its cells' first code span (or the bare cell)."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        rows.append([next(iter(_CODE_SPAN.findall(cell)), cell) for cell in cells])
    return rows


def test_the_api_guide_lists_every_error_string_of_both_dialects() -> None:
    from smmpanel.api import dialects as d

    placeholder = {d.MISSING: "NAME", d.BAD_PARAMETER: "NAME", d.BELOW_MIN: "N", d.ABOVE_MAX: "N"}
    v1, v2 = d.DIALECTS["v1"], d.DIALECTS["v2"]
    codes = [v for name, v in vars(d).items() if name.isupper() and isinstance(v, str) and v in d.V2._errors]
    spoken = {(v2.error_text(c, placeholder.get(c)), v1.error_text(c, placeholder.get(c))) for c in codes}
    spoken |= {(text, text) for text in (d.TOO_LARGE, d.RATE_LIMITED, d.INTERNAL)}
    errors = section((ROOT / "docs" / "api.md").read_text(), "## Errors")
    written = {(row[1], row[2] if row[2] != "the same" else row[1]) for row in table_rows(errors)[1:]}
    assert written == spoken


def test_the_api_guide_names_every_service_type_in_both_dialects() -> None:
    from smmpanel.catalog.types import ServiceType

    services = section((ROOT / "docs" / "api.md").read_text(), "### `services`: the price list")
    written = {(row[0], row[1]) for row in table_rows(services)[1:]}
    assert written == {(str(label), value) for value, label in ServiceType.choices}
