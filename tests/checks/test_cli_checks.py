"""`huiju checks run` as a user runs it: a real process on a temp instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harvester.demo.styles import ADVERT
from tests.test_cli import huiju


def test_checks_run_reports_skips_and_refuses_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [{"source_record_id": "a1", "title": "勾股定理", "description": "勾股定理的证明与应用。" + ADVERT},
            {"source_record_id": "a2", "title": "圆的面积", "description": "暂无简介"}]
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    huiju(tmp_path, "import", str(data), "--format", "jsonl", "--source", "school-a", "--level", "school")
    out = huiju(tmp_path, "checks", "run").stdout
    assert out.startswith("2 of 2 records checked") and "sensitive   1 fail" in out and "title       1 fail" in out
    assert huiju(tmp_path, "checks", "run", "--source", "school-a").stdout.startswith("0 of 2 records checked")
    assert huiju(tmp_path, "checks", "run", "--all").stdout.startswith("2 of 2 records checked")
    unknown = huiju(tmp_path, "checks", "run", "--source", "nope", check=False)
    assert unknown.returncode == 1 and "no source named 'nope'" in unknown.stderr
    monkeypatch.setenv("HUIJU_CHECKS_SENSITIVE_TERMS", str(tmp_path / "missing.txt"))
    broken = huiju(tmp_path, "checks", "run", "--all", check=False)
    assert broken.returncode == 1 and "missing.txt" in broken.stderr
