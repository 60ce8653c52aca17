"""The `huiju` commands as a user runs them: a real process, a real instance folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HUIJU = [sys.executable, "-m", "repository"]


def huiju(instance: Path, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "HUIJU_LOG_LEVEL": "WARNING"}
    env.pop("HUIJU_DATABASE_URL", None)
    result = subprocess.run([*HUIJU, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"huiju {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def test_help_lists_every_command_with_one_line_help(tmp_path: Path) -> None:
    out = huiju(tmp_path, "--help").stdout
    for command in ("init", "import", "export", "serve", "demo", "stats"):
        assert re.search(rf"^\s+{command}\s+\S", out, re.M), command


def test_readme_command_table_matches_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from repository.cli import main

    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme.split("<!-- commands:start -->")[1].split("<!-- commands:end -->")[0]
    documented = dict(re.findall(r"^\| `huiju (\S+)` \| (.+?) \|$", table, re.M))
    actual = {name: cmd.get_short_help_str(200) for name, cmd in main.commands.items()}
    assert documented == actual, "README command table is out of date"
    assert CliRunner().invoke(main, ["--help"]).exit_code == 0


def test_init_is_idempotent(tmp_path: Path) -> None:
    assert "database ready" in huiju(tmp_path, "init").stdout
    assert "database ready" in huiju(tmp_path, "init").stdout
    assert (tmp_path / "huiju.db").exists()


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_import_export_round_trip_and_quarantine(tmp_path: Path) -> None:
    rows = [
        {"source_record_id": "a1", "title": "勾股定理（第一课时）", "keywords": ["几何"]},
        {"source_record_id": "a2", "title": "圆的面积"},
        {"source_record_id": "a3", "title": ""},  # no title: quarantined
    ]
    data = _jsonl(tmp_path / "in.jsonl", rows)
    (tmp_path / "broken.jsonl").write_text('{"source_record_id": "x", "title": \n', "utf-8")
    out = huiju(tmp_path, "import", str(data), "--format", "jsonl", "--source", "school-a", "--level", "school").stdout
    assert "3 read: 2 added" in out and "1 quarantined" in out and "no title" in out
    again = huiju(tmp_path, "import", str(data), "--format", "jsonl", "--source", "school-a").stdout
    assert "2 unchanged" in again
    broken = huiju(tmp_path, "import", str(tmp_path / "broken.jsonl"), "--format", "jsonl", "--source", "school-a")
    assert "1 quarantined" in broken.stdout and "invalid JSON" in broken.stdout

    exported = tmp_path / "out.jsonl"
    huiju(tmp_path, "export", "--what", "records", "--format", "jsonl", "-o", str(exported))
    lines = [json.loads(line) for line in exported.read_text("utf-8").splitlines()]
    assert sorted(r["title"] for r in lines) == ["勾股定理（第一课时）", "圆的面积"]
    assert {r["source_level"] for r in lines} == {"school"}

    # oai_dc export is an OAI-PMH page that a second, empty instance imports
    xml = tmp_path / "out.xml"
    huiju(tmp_path, "export", "--format", "oai_dc", "-o", str(xml))
    second = tmp_path / "second"
    report = huiju(second, "import", str(xml), "--format", "oai_dc", "--source", "partner").stdout
    assert "2 read: 2 added" in report
    titles = sorted(json.loads(x)["title"] for x in huiju(second, "export").stdout.splitlines())
    assert titles == ["勾股定理（第一课时）", "圆的面积"]


def test_export_works_before_dedupe_says_what_to_do(tmp_path: Path) -> None:
    result = huiju(tmp_path, "export", "--what", "works", "--format", "jsonl")
    assert result.stdout == "" and "huiju dedupe" in result.stderr


def test_bad_arguments_are_clear_errors(tmp_path: Path) -> None:
    result = huiju(tmp_path, "import", "nope.xml", "--format", "oai_dc", "--source", "s", check=False)
    assert result.returncode == 2 and "does not exist" in result.stderr
    result = huiju(tmp_path, "import", str(ROOT / "README.md"), "--format", "dc", "--source", "s", check=False)
    assert result.returncode == 2 and "oai_dc" in result.stderr


def test_import_real_corpus_file_with_level(tmp_path: Path, corpus: Path) -> None:
    page = corpus / "oai-pmh" / "pyoai" / "fake2" / "00002.xml"
    out = huiju(tmp_path, "import", str(page), "--format", "oai_dc", "--source", "erasmus", "--level", "provincial")
    assert "81 read" in out.stdout
    stats = huiju(tmp_path, "stats").stdout
    assert re.search(r"erasmus\s+provincial\s+79 records", stats)  # 2 of the 81 are deletions


@pytest.mark.parametrize("fmt", ["lom", "marcxml", "lrmi"])
def test_export_formats_reimport(tmp_path: Path, fmt: str) -> None:
    data = _jsonl(tmp_path / "in.jsonl", [{"source_record_id": "k1", "title": "一元二次方程", "url": "https://x.example/k1"}])
    huiju(tmp_path, "import", str(data), "--format", "jsonl", "--source", "s")
    out = tmp_path / f"out.{fmt}"
    huiju(tmp_path, "export", "--format", fmt, "-o", str(out))
    report = huiju(tmp_path / "b", "import", str(out), "--format", fmt, "--source", "t").stdout
    assert "1 added" in report


def test_dedupe_export_works_and_explain(tmp_path: Path) -> None:
    lesson = {"title": "勾股定理（第一课时）", "description": "人教版八年级数学下册 勾股定理",
              "identifiers": [{"scheme": "smartedu", "value": "nat-123"}]}
    national = _jsonl(tmp_path / "n.jsonl", [{**lesson, "source_record_id": "n1"},
                                            {"source_record_id": "n2", "title": "圆的面积"}])
    city = _jsonl(tmp_path / "c.jsonl",
                  [{**lesson, "source_record_id": "c1", "title": "【市级优课】勾股定理（第一课时）"}])
    huiju(tmp_path, "import", str(national), "--format", "jsonl", "--source", "national", "--level", "national")
    huiju(tmp_path, "import", str(city), "--format", "jsonl", "--source", "city", "--level", "municipal")
    assert "3 records processed; 2 works" in huiju(tmp_path, "dedupe").stdout
    works = [json.loads(line) for line in huiju(tmp_path, "export", "--what", "works").stdout.splitlines()]
    joint = next(w for w in works if len(w["members"]) == 2)
    assert sorted(m["source"] for m in joint["members"]) == ["city", "national"]
    assert joint["canonical"] == {"source": "national", "source_record_id": "n1"}
    explained = huiju(tmp_path, "works", "explain", joint["id"]).stdout
    assert "identifier" in explained and "[city]" in explained
    missing = huiju(tmp_path, "works", "explain", "wnope", check=False)
    assert missing.returncode == 1 and "no work wnope" in missing.stderr

    # dedupe indexed the works: search finds the joint work by Chinese, pinyin and initials
    for text in ("勾股定理", "gougu", "ggdl"):
        found = json.loads(huiju(tmp_path, "search", text, "--json").stdout)
        assert [h["id"] for h in found["hits"]] == [joint["id"]], text
    assert json.loads(huiju(tmp_path, "search", "--json").stdout)["total"] == 2
    bad = huiju(tmp_path, "search", '"勾股', check=False)
    assert bad.returncode == 1 and "cannot read the query" in bad.stderr
    assert "indexed 2 works" in huiju(tmp_path, "reindex").stdout
