"""The layering rule of docs/architecture.md, enforced on every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package -> top-level modules it must never import
FORBIDDEN = {
    "schemas": {"harvester", "index", "repository", "web", "flask", "sqlalchemy", "requests", "urllib3",
                "scrapy", "elasticsearch", "tantivy", "socket", "http", "psycopg"},
    "index": {"web", "flask", "harvester"},
    "harvester": {"web", "flask", "index"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def modules() -> list[tuple[str, Path]]:
    return [(pkg, path) for pkg in FORBIDDEN for path in sorted((ROOT / pkg).rglob("*.py"))]


@pytest.mark.parametrize(("package", "path"), modules(), ids=lambda v: str(v).replace(str(ROOT) + "/", ""))
def test_layering(package: str, path: Path) -> None:
    bad = imports_of(path) & FORBIDDEN[package]
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}, which {package}/ must not"


def test_the_rule_can_fail(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import flask\nfrom sqlalchemy.orm import Session\n")
    assert imports_of(module) & FORBIDDEN["schemas"] == {"flask", "sqlalchemy"}
