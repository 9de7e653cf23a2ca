"""The house rules of DESIGN.md as tests: which way imports flow, no cycles, and lists that are derived."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from portal import settings as settings_module
from portal.operations import db_roles
from portal.piccolo_app import APP_CONFIG
from portal.tables import ALL_TABLES
from tests.conftest import ROOT

CAPABILITIES = {"calendar", "charts", "imaging", "messaging", "privacy"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, ast.Module]:
    files = [*(ROOT / "portal").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]
    return {_module_name(p): ast.parse(p.read_text(), str(p)) for p in files if "migrations" not in p.parts}


SOURCES = _sources()


def _imports(tree: ast.Module, top_level_only: bool = False) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import; `from portal import x` names x itself."""
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [alias.name for alias in node.names]
            submodules = [f"{node.module}.{n}" for n in names if f"{node.module}.{n}" in SOURCES]
            if submodules:
                found += [(m, [], node.lineno) for m in submodules]
                names = [n for n in names if f"{node.module}.{n}" not in SOURCES]
            if names or not submodules:
                found.append((node.module, names, node.lineno))
    return [f for f in found if f[0].split(".")[0] in ("portal", "jobs")]


def _area(module: str) -> str:
    """views, tables, jobs, a capability's name, or foundation."""
    parts = module.split(".")
    if parts[0] == "jobs":
        return "jobs"
    if len(parts) > 1 and parts[1] in ("views", "tables", *CAPABILITIES) and (len(parts) > 2 or parts[1] in
                                                                               CAPABILITIES):
        return parts[1]
    return "foundation"


def _violations(rule) -> list[str]:
    return [f"{module}:{line} imports {target}" for module, tree in SOURCES.items()
            for target, names, line in _imports(tree) if rule(module, target, names)]


def test_only_views_and_the_app_import_views():
    assert _violations(lambda m, t, _: _area(t) == "views" and _area(m) != "views"
                       and m not in ("portal.app", "portal.cli")) == []


def test_tables_import_no_domain_and_no_views():
    assert _violations(lambda m, t, _: _area(m) == "tables" and _area(t) != "tables"
                       and t not in ("portal.db",)) == []


def test_jobs_never_import_views():
    assert _violations(lambda m, t, _: _area(m) == "jobs" and _area(t) == "views") == []


def test_a_capability_uses_another_only_through_public_names():
    def private_reach(module, target, names):
        return (_area(target) in CAPABILITIES and _area(target) != _area(module)
                and any(n.startswith("_") for n in names))
    assert _violations(private_reach) == []
    reached = []
    for module, tree in SOURCES.items():
        bound = {}
        for target, names, _ in _imports(tree):
            if not names and _area(target) in CAPABILITIES and _area(target) != _area(module):
                bound[target.rsplit(".", 1)[-1]] = target
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                reached.append(f"{module}:{node.lineno} uses {bound[node.value.id]}.{node.attr}")
    assert reached == []


def test_no_import_cycles_at_module_level():
    graph = {m: {t for t, _, _ in _imports(tree, top_level_only=True) if t in SOURCES and t != m}
             for m, tree in SOURCES.items()}
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_every_view_module_renders_its_own_template_folder():
    wrong = []
    for path in (ROOT / "portal" / "views").glob("*.py"):
        for folder in set(re.findall(r"[\"']([a-z_]+)/_?[a-z_]+\.html[\"']", path.read_text())):
            if folder not in (path.stem, "errors"):
                wrong.append(f"{path.name} renders {folder}/")
    assert wrong == []


def test_the_piccolo_app_lists_every_table_module_class():
    declared = set()
    for path in (ROOT / "portal" / "tables").glob("*.py"):
        declared |= set(re.findall(r"^class (\w+)\((?:Table|[A-Z]\w*Table)\b", path.read_text(), re.M))
    assert {t.__name__ for t in ALL_TABLES} == declared
    assert set(APP_CONFIG.table_classes) == set(ALL_TABLES)


class _RecordingEnviron(dict):
    """An empty environment that remembers every name the settings ask for."""

    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return default

    def __getitem__(self, key):
        self.asked.add(key)
        raise KeyError(key)

    def __contains__(self, key):
        self.asked.add(key)
        return False


def test_the_readme_settings_table_lists_exactly_what_settings_read(monkeypatch, tmp_path):
    recorder = _RecordingEnviron()
    monkeypatch.setattr(settings_module.os, "environ", recorder)
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", tmp_path)
    settings_module.Settings.from_env()
    db_roles.owner_url()  # the migration role's URL is read where migrations run, not kept in Settings
    monkeypatch.setattr(settings_module.os, "environ", os.environ.copy())
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    rows = [re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]) for row in table.splitlines()
            if row.startswith("| `")]
    documented = [name for names in rows for name in names]
    assert set(documented) == recorder.asked
    assert len(documented) == len(set(documented)), "a setting has two rows"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_every_module_says_what_it_owns(name):
    assert ast.get_docstring(SOURCES[name]), f"{name} has no docstring"


def test_collecting_tests_starts_no_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PORTAL_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           "tests/test_settings.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "data" / "pgdata").exists()


# What would outlive a statement on a pooled connection: the pool no longer resets a released connection
# (portal/db.py, _leave_session_as_is), so none of it may run there.
_SESSION_STATE = re.compile(
    r"(^|;)\s*(SET\s+(?!LOCAL\b)|RESET\s|LISTEN\s|DECLARE\s+\w+.*\bWITH\s+HOLD)"
    r"|pg_(try_)?advisory_lock(_shared)?\s*\(|set_config\s*\([^)]*,\s*false\s*\)|CREATE\s+TEMP(ORARY)?\s",
    re.MULTILINE | re.DOTALL)  # our SQL keywords are upper case
# The migration lock: a connection of its own, closed to release it.
_OWN_CONNECTION = {("portal.db", "SELECT pg_advisory_lock($1)")}


def _strings(tree: ast.Module):
    """Every string constant but docstrings."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.value


def test_nothing_leaves_session_state_on_a_pooled_connection():
    files = [*(ROOT / "portal").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]
    found = sorted({(_module_name(p), text) for p in files for text in _strings(ast.parse(p.read_text()))
                    if _SESSION_STATE.search(text)} - _OWN_CONNECTION)
    assert found == []
    assert _SESSION_STATE.search("SELECT 1; SET statement_timeout = 0") and not _SESSION_STATE.search(
        "UPDATE t SET a = 1; SET LOCAL lock_timeout = '1s'; SELECT pg_advisory_xact_lock(1)")
