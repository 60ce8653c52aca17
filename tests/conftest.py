"""Shared fixtures: where ../shared is, and a report header naming versions."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
XSD = CORPUS / "xsd"


def pytest_report_header(config: pytest.Config) -> list[str]:
    import lxml.etree

    lines = [f"sqlite {sqlite3.sqlite_version}, lxml {'.'.join(map(str, lxml.etree.LXML_VERSION))}"]
    try:
        from importlib.metadata import version

        import tantivy  # noqa: F401

        lines.append(f"tantivy {version('tantivy')}")
    except ImportError:
        pass
    lines.append(f"shared corpus: {'present' if CORPUS.is_dir() else 'absent (corpus tests skip)'}")
    return lines


@pytest.fixture(scope="session")
def corpus() -> Path:
    """../shared/corpus; tests that need it skip when it is absent (a user's clone)."""
    if not CORPUS.is_dir():
        pytest.skip("../shared/corpus is absent: real-file tests need the shared corpus beside the clone")
    return CORPUS


@pytest.fixture(scope="session")
def xsd_dir() -> Path:
    if not XSD.is_dir():
        pytest.skip("../shared/corpus/xsd is absent: XSD validation needs the shared corpus beside the clone")
    return XSD
