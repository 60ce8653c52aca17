"""Every record-holding file of the shared corpus imports or is rejected with
reasons — through the same pipeline as `huiju import` (tools/corpus_report.py)."""

from __future__ import annotations

from pathlib import Path

from tools.corpus_report import markdown, run


def test_every_corpus_file_maps_or_is_rejected_with_reasons(corpus: Path) -> None:
    results = run(corpus)
    assert len(results) > 300  # all record folders were walked
    crashes = [f"{r.path}: {r.crash}" for r in results if r.crash]
    assert crashes == []
    silent = [r.path for r in results if r.mapped + r.rejected == 0]
    assert silent == [], "files that produced neither records nor rejections"
    for r in results:
        assert sum(r.reasons.values()) == r.rejected, r.path
        assert all(reason.strip() and "\n" not in reason for reason in r.reasons), r.path
    by_path = {r.path: r for r in results}
    assert by_path["zh/smartedu/syncClassroom_part_102.json"].mapped == 400
    assert by_path["oai-pmh/pyoai/fake2/00002.xml"].mapped == 81
    assert "| folder | files | records mapped | rejected | crashes |" in markdown(results)
