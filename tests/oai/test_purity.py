"""The OAI-PMH XML building is pure (docs/architecture.md): repository/oai/ does no I/O."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from repository.oai import build
from repository.oai.build import Envelope, Item, Resumption, Tombstone
from repository.oai.formats import FORMATS
from tests.oai.conftest import lesson
from tests.test_layering import imports_of

PACKAGE = Path(__file__).resolve().parents[2] / "repository" / "oai"
# No web framework, database, network, clock-free randomness or process access; and none of the
# repository modules that do I/O (the store, models, the app, settings that read the environment).
FORBIDDEN = {"flask", "werkzeug", "sqlalchemy", "alembic", "psycopg", "sqlite3", "socket", "http", "urllib",
             "requests", "os", "subprocess", "waitress", "index", "harvester", "web"}
FORBIDDEN_OURS = {"repository.store", "repository.db", "repository.models", "repository.app", "repository.views",
                  "repository.settings", "repository.publication", "repository.works", "repository.ingest"}


def _our_imports(path: Path) -> set[str]:
    import ast

    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_OURS)}


MODULES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_oai_package_does_no_io(path: Path) -> None:
    assert not imports_of(path) & FORBIDDEN, f"{path.name} imports {sorted(imports_of(path) & FORBIDDEN)}"
    assert not _our_imports(path), f"{path.name} imports {sorted(_our_imports(path))}"


def test_the_package_is_all_there() -> None:
    assert {p.name for p in MODULES} >= {"__init__.py", "args.py", "build.py", "dates.py", "errors.py",
                                         "formats.py", "sets.py", "tokens.py"}


def test_builders_are_functions_of_their_arguments() -> None:
    """Same values in, same bytes out: nothing is read from a clock or global state."""
    when = datetime(2025, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    env = Envelope("https://huiju.example.cn/oai", when, {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                   "/static/oai2.xsl")
    items = [Item("oai:huiju.test:w1", when, ("subject:math",), lesson(1)),
             Item("oai:huiju.test:w2", when, (), None, Tombstone("merged", "oai:huiju.test:w1"))]
    page = Resumption("token", 0, 5, when)
    first = build.list_records(env, items, FORMATS["oai_dc"], page)
    assert first == build.list_records(env, items, FORMATS["oai_dc"], page)
    assert b"<responseDate>2025-03-01T08:30:15Z</responseDate>" in first
    assert first.startswith(b"<?xml version='1.0' encoding='UTF-8'?>\n<?xml-stylesheet")
