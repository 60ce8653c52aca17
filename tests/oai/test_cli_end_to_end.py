"""End to end in real processes: import, dedupe, review approve, serve, then harvest /oai."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sickle import Sickle

from tests.oai.xsd import response_errors
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]
HUIJU = [sys.executable, "-m", "repository"]


def environment(instance: Path) -> dict[str, str]:
    env = {**os.environ, "HUIJU_INSTANCE_PATH": str(instance), "HUIJU_LOG_LEVEL": "WARNING",
           "HUIJU_OAI_COMMIT_LAG": "0", "HUIJU_OAI_PAGE_SIZE": "2", "HUIJU_OAI_REPOSITORY_ID": "huiju.test"}
    env.pop("HUIJU_DATABASE_URL", None)
    return env


def huiju(instance: Path, *args: str) -> str:
    result = subprocess.run([*HUIJU, *args], cwd=ROOT, env=environment(instance), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"huiju {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


class CheckedSickle(Sickle):
    """Sickle that schema-checks every response body it receives."""

    def __init__(self, url: str, xsd_dir: Path, ours: Path) -> None:
        super().__init__(url)
        self.schemas = (xsd_dir, ours)
        self.responses = 0

    def harvest(self, **kwargs: str):  # noqa: ANN201 - Sickle's own signature
        response = super().harvest(**kwargs)
        assert response_errors(response.http_response.content, *self.schemas) == []
        self.responses += 1
        return response



@pytest.mark.slow
def test_import_dedupe_approve_serve_harvest(tmp_path: Path, xsd_dir: Path, ours: Path) -> None:
    lesson = {"title": "勾股定理（第一课时）", "description": "人教版八年级数学下册 勾股定理",
              "identifiers": [{"scheme": "smartedu", "value": "nat-123"}]}
    national = jsonl(tmp_path / "n.jsonl", [{**lesson, "source_record_id": "n1"},
                                           {"source_record_id": "n2", "title": "圆的面积", "description": "六年级数学"},
                                           {"source_record_id": "n3", "title": "浮力", "description": "八年级物理"}])
    city = jsonl(tmp_path / "c.jsonl", [
        {**lesson, "source_record_id": "c1", "title": "【市级优课】勾股定理（第一课时）"},
        {"source_record_id": "c9", "title": "春", "description": "七年级语文 朱自清"},
    ])
    huiju(tmp_path, "import", str(national), "--format", "jsonl", "--source", "national", "--level", "national")
    huiju(tmp_path, "import", str(city), "--format", "jsonl", "--source", "city", "--level", "municipal")
    assert "4 works" in huiju(tmp_path, "dedupe")
    out = huiju(tmp_path, "review", "approve", "--source", "national", "--actor", "王老师")
    assert "3 records changed" in out and "3 published" in out
    works = [json.loads(line) for line in huiju(tmp_path, "export", "--what", "works").splitlines()]
    expected = {w["id"] for w in works if any(m["source"] == "national" for m in w["members"])}
    assert len(expected) == 3

    port = free_port()
    server = subprocess.Popen([*HUIJU, "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                              env=environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/oai"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}?verb=Identify", timeout=5) as response:
                    identify = response.read()
                break
            except OSError:
                assert server.poll() is None, server.communicate()[1].decode()
                assert time.monotonic() < deadline, "huiju serve did not answer within 60 s"
                time.sleep(0.2)
        assert response_errors(identify, xsd_dir, ours) == []
        client = CheckedSickle(base, xsd_dir, ours)
        records = list(client.ListRecords(metadataPrefix="oai_dc"))  # two pages of two and one
        assert client.responses == 2
        assert {r.header.identifier for r in records} == {f"oai:huiju.test:{w}" for w in expected}
        assert sorted(r.metadata["title"][0] for r in records)[0] == "勾股定理（第一课时）"
        in_set = {h.identifier for h in client.ListIdentifiers(metadataPrefix="lom", set="source:city")}
        joint = next(w["id"] for w in works if len(w["members"]) == 2)
        assert in_set == {f"oai:huiju.test:{joint}"}  # the city-only lesson is not approved
        with urllib.request.urlopen(f"{base}?verb=ListRecords&metadataPrefix=marc21", timeout=10) as response:
            assert response_errors(response.read(), xsd_dir, ours) == []
    finally:
        server.terminate()
        server.communicate(timeout=30)
