"""What may import what, read from the source with ``ast`` (no imports run, so it is instant).

The kernel is the handful of ``sentimon`` modules every part may use; it imports nothing else
of the project. ``connectors``, ``models`` and ``alerts`` import the kernel and their own
modules only, never each other and never the app (config, store, pipeline, daemon, CLI,
server), so a part can be replaced or tested without the rest. docs/ARCHITECTURE.md draws it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sentimon", "connectors", "models", "alerts")
PARTS = ("connectors", "models", "alerts")
KERNEL = frozenset({
    "sentimon",  # the package itself: __version__
    "sentimon.mention",  # Mention, Classification, SENTIMENTS
    "sentimon.errors",  # the SentimonError tree
    "sentimon.settings",  # Setting tables and their validation
    "sentimon.durations",  # durations, --since moments, Retry-After
    "sentimon.times",  # the store's UTC text form of a moment
    "sentimon.logs",  # logging set-up and secret redaction
    "sentimon.http_errors",  # a requests error on one short line
})
# Scripts run by hand from the source tree, not installed and not imported by the library.
NOT_LIBRARY = ("models/recipe/",)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if any(relative.startswith(prefix) for prefix in NOT_LIBRARY):
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """Project modules ``path`` imports, at the top or inside a function (both count: a lazy
    import is still a dependency). ``from pkg import name`` counts as ``pkg.name`` when that is
    a module. ``if TYPE_CHECKING:`` imports are left out: they never run."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for inner in node.body for child in ast.walk(inner))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in MODULES
                     else node.module for alias in node.names]
        else:
            continue
        found.update(name for name in names if name.split(".")[0] in PACKAGES)
    return found


GRAPH = {module: _imports(path) for module, path in MODULES.items()}


def _violations(rule) -> list[str]:
    return sorted(f"{module} imports {target}" for module, targets in GRAPH.items()
                  for target in targets if rule(module, target))


def test_the_kernel_imports_only_the_kernel():
    assert _violations(lambda m, t: m in KERNEL and t not in KERNEL) == []


@pytest.mark.parametrize("part", PARTS)
def test_a_part_imports_only_the_kernel_and_itself(part):
    def breaks(module: str, target: str) -> bool:
        if module.split(".")[0] != part:
            return False
        return target.split(".")[0] != part and target not in KERNEL

    assert _violations(breaks) == []


def test_the_core_never_imports_a_command():
    """The daemon, store and pipeline serve the CLI, not the other way round: ``cli*`` modules
    are imported by the CLI alone."""
    assert _violations(lambda m, t: t.startswith("sentimon.cli") and not m.startswith("sentimon.cli")) == []


# Known cycles, each to be broken by the owner of its folder (models/ belongs to the model work:
# heads.py imports aspects lazily to save and load the aspect head beside the sentiment head).
KNOWN_CYCLES = {("models.aspects", "models.heads")}


def test_no_import_cycles_in_the_kernel_or_the_parts():
    """A cycle means two modules are one: hard to read, and an import order away from a crash."""
    scope = {m for m in GRAPH if m in KERNEL or m.split(".")[0] in PARTS}
    cycles = set()
    for start in sorted(scope):
        stack, seen = [(start, (start,))], set()
        while stack:
            node, trail = stack.pop()
            for target in GRAPH.get(node, ()):
                if target == start:
                    cycles.add(tuple(sorted(trail)))
                elif target in scope and target not in seen:
                    seen.add(target)
                    stack.append((target, trail + (target,)))
    assert sorted(cycles - KNOWN_CYCLES) == []


def test_the_rule_sees_the_imports_it_checks():
    """The checks above pass trivially if nothing is found: they must see the real graph."""
    assert "connectors.base" in GRAPH["connectors.http"]
    assert "sentimon.errors" in GRAPH["alerts.outbox"]
    assert len(MODULES) > 60


def _test_modules_imported(folder: Path) -> list[str]:
    """``file imports test_x`` for every module under ``folder`` that imports a test module
    (``test_*`` not ending in ``_support``), however it is spelled: ``import test_x``,
    ``from test_x import ...``, ``from tests import test_x``, ``import_module("test_x")``."""
    def is_test(name: str) -> bool:
        last = name.removeprefix("tests.").split(".")[0]
        return last.startswith("test_") and not last.endswith("_support")

    found = []
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names
                                         if node.module == "tests"]
            elif (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module")
                  and node.args and isinstance(node.args[0], ast.Constant)):
                names = [str(node.args[0].value)]
            found += [f"{path.relative_to(folder).as_posix()} imports {name}"
                      for name in names if is_test(name)]
    return sorted(set(found))


def test_no_test_module_imports_another():
    """Helpers tests share live in support modules (``*_support.py``, ``fakes/``, ``stubs.py``,
    ``connector_runs.py``...) and shared fixtures in conftest.py. Importing a test module runs
    its module-level set-up again, and its fixtures and tests come along (a test can run twice,
    or change with an edit to a file that seemed unrelated)."""
    assert _test_modules_imported(ROOT / "tests") == []


# Each table's SQL has one owner (issue 15 item 3), named by module or package: a second store
# replaces the store's modules and nothing else, and a newcomer finds a table's queries in one
# place. The store's migrations (sentimon.schema) create every table; Datasette's canned
# queries (sentimon.datasette_meta) are SQL text Datasette runs, not us.
STORES = ("sentimon.store", "sentimon.pgstore")  # SQLite, and PostgreSQL (with `migrate --to`)
MENTION_SQL = (*STORES, "sentimon.mention_sql", "sentimon.mention_windows")
TABLE_OWNERS: dict[str, tuple[str, ...]] = {
    "mentions": MENTION_SQL,
    "mention_topics": MENTION_SQL,
    "mentions_fts": ("sentimon.store",),
    "runs": STORES,
    "cursors": STORES,
    "daily_sentiment": (*STORES, "sentimon.rollup"),
    "daily_topics": (*STORES, "sentimon.rollup"),
    "corrections": ("sentimon.corrections",),
    "schema_migrations": ("sentimon.pgstore",),  # PostgreSQL's record of applied migrations
    "alert_events": ("alerts.storage",),
    "deliveries": ("alerts.storage",),
    "alert_mutes": ("alerts.storage",),
    "worker_backoff": ("sentimon.worker_limits",),  # shared back-off, PostgreSQL only
    "worker_install": ("sentimon.worker_limits",),
}
SQL_ANYWHERE = {"sentimon.schema", "sentimon.datasette_meta"}
# Still to move, each with its reason (none left: the alert engine's reads of mentions are the
# store's, sentimon/store/alert_reads.py, handed to alerts as an alerts.reader.AlertReader).
SQL_TO_MOVE: set[tuple[str, str]] = set()


def _tables_in_sql(source: str) -> set[str]:
    """The owned tables that SQL in ``source``'s string literals (f-string parts too) reads or
    writes, in whatever case it is written (``select ... from mentions`` counts). Docstrings are
    prose, not SQL ("turns its payloads into Mentions"), and are skipped. A table named by a
    variable (``f"FROM {table}"``) is not seen: the owners keep such names to their own tables."""
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    pattern = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+({'|'.join(TABLE_OWNERS)})\b", re.IGNORECASE)
    return {match.lower() for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            for match in pattern.findall(node.value)}


def _owns(module: str, owner: str) -> bool:
    return module == owner or module.startswith(owner + ".")


def test_the_owner_check_reads_sql_in_any_case_and_skips_prose():
    assert _tables_in_sql('db.execute("select sentiment from Mentions where id = ?")') == {"mentions"}
    assert _tables_in_sql('sql = f"delete from runs where id in ({ids})"') == {"runs"}
    assert _tables_in_sql('"""Turns payloads into mentions."""\nx = "Insert Into cursors"') == {"cursors"}
    assert _tables_in_sql('x = "SELECT 1 FROM mentions_archive"') == set()


def test_each_table_is_read_and_written_by_its_owner_only():
    found = set()
    for module, path in MODULES.items():
        if module in SQL_ANYWHERE:
            continue
        for table in _tables_in_sql(path.read_text(encoding="utf-8")):
            if not any(_owns(module, owner) for owner in TABLE_OWNERS[table]):
                found.add((module, table))
    assert sorted(found - SQL_TO_MOVE) == [], "move the SQL to the table's owner (TABLE_OWNERS)"
    assert sorted(SQL_TO_MOVE - found) == [], "moved: take it off SQL_TO_MOVE"


def test_ruff_finds_nothing_in_the_four_packages():
    """The lint gate runs inside the test command, so `.ci/run` stays the README's command."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "sentimon", "connectors", "alerts", "models"],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.slow
def test_mypy_finds_nothing_in_the_four_packages():
    """The type gate, beside the lint gate (settings in pyproject.toml). Its cache is kept in the
    temp folder, one per checkout and out of the tree, so a rerun takes ~3 s; a cold run (CI)
    takes ~11 s on one core, most of it reading torch's types (47 s before pyproject.toml told
    it to skip transformers and torch's compiler internals)."""
    import hashlib
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).resolve().parent.parent
    cache = Path(tempfile.gettempdir()) / f"sentimon-mypy-{hashlib.sha256(str(root).encode()).hexdigest()[:12]}"
    result = subprocess.run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), *PACKAGES],
                            cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
