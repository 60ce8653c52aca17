"""The national JSON feed: a local server serving a version file and chunks made from the real chunk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harvester.smartedu import SNAPSHOT, chunk_urls
from repository.store import Store
from schemas.record import record_id
from tests.harvester.oai_support import harvest
from tests.harvester.servers import Reply, Request, Server

NAME = "national"


class Feed:
    """/zxx/.../data_version.json plus part_N.json chunks, swappable per version."""

    def __init__(self) -> None:
        self.version: bytes = b""
        self.chunks: dict[str, bytes] = {}
        self.broken: set[str] = set()

    def publish(self, base: str, version: int, records: list[dict[str, Any]], parts: int = 3,
                as_string: bool = False) -> None:
        size = -(-len(records) // parts)
        self.chunks = {f"part_{100 + i}.json": json.dumps(records[i * size:(i + 1) * size], ensure_ascii=False)
                       .encode() for i in range(parts)}
        urls = [f"{base}/zxx/ndrs/national_lesson/teachingmaterials/{n}" for n in self.chunks]
        self.version = json.dumps({"module": "national_lesson", "module_version": version,
                                   "urls": ",".join(urls) if as_string else urls}).encode()

    def __call__(self, request: Request) -> Reply:
        name = request.path.rsplit("/", 1)[-1]
        if name == "data_version.json":
            return Reply(body=self.version, content_type="application/json")
        if name in self.broken:
            return Reply(status=500, body=b"oops")
        if name in self.chunks:
            return Reply(body=self.chunks[name], content_type="application/json", compress=True)
        return Reply(status=404, body=b"not here")


@pytest.fixture
def records(corpus: Path) -> list[dict[str, Any]]:
    return json.loads((corpus / "zh/smartedu/syncClassroom_part_102.json").read_text("utf-8"))


@pytest.fixture
def feed(server: Server) -> Feed:
    server.app = feed = Feed()
    return feed


def add(store: Store, server: Server) -> None:
    url = f"{server.url}/zxx/ndrs/national_lesson/teachingmaterials/version/data_version.json"
    store.add_source(NAME, "smartedu", url, level="national")


def test_first_harvest_then_changed_and_gone_records(
        store: Store, server: Server, feed: Feed, records: list[dict[str, Any]]) -> None:
    feed.publish(server.url, 1, records)
    add(store, server)
    first = harvest(store, NAME)
    assert first.status == "succeeded", first.message
    assert (first.added, first.pages) == (400, 3)
    paths = {r.path.rsplit("/", 1)[-1] for r in server.requests}
    assert paths == {"data_version.json", "part_100.json", "part_101.json", "part_102.json"}  # no media
    changed, gone = records[10], records[250]
    raw = store.get_raw(record_id(NAME, changed["id"]))
    assert raw is not None and raw.format == "smartedu" and json.loads(raw.content)["id"] == changed["id"]

    second_version = [dict(r) for r in records if r is not gone]
    second_version[10] = {**changed, "title": changed["title"] + "（修订）"}
    feed.publish(server.url, 2, second_version, as_string=True)
    second = harvest(store, NAME)
    assert second.status == "succeeded", second.message
    assert (second.added, second.updated, second.deleted, second.unchanged) == (0, 1, 1, 398)
    assert store.get_record(record_id(NAME, changed["id"])).title.endswith("（修订）")
    assert store.get_record(record_id(NAME, gone["id"])).deleted is True
    assert store.count_records(source=NAME) == 399
    assert len(store.get_setting(SNAPSHOT + NAME)["ids"]) == 399


def test_unchanged_version_fetches_no_chunks(
        store: Store, server: Server, feed: Feed, records: list[dict[str, Any]]) -> None:
    feed.publish(server.url, 7, records[:30])
    add(store, server)
    assert harvest(store, NAME).status == "succeeded"
    asked = len(server.requests)
    again = harvest(store, NAME)
    assert again.status == "succeeded" and again.checkpoint["unchanged"] is True
    assert len(server.requests) == asked + 1  # only the version file


def test_a_failed_chunk_applies_no_deletions(
        store: Store, server: Server, feed: Feed, records: list[dict[str, Any]]) -> None:
    feed.publish(server.url, 1, records[:90])
    add(store, server)
    assert harvest(store, NAME).status == "succeeded"
    feed.publish(server.url, 2, records[:90])
    feed.broken.add("part_101.json")
    run = harvest(store, NAME)
    assert run.status == "failed" and "no deletions applied" in run.message
    assert store.count_records(source=NAME) == 90 and run.deleted == 0
    assert store.list_quarantine(NAME)[-1].stage == "fetch"
    assert store.get_setting(SNAPSHOT + NAME)["module_version"] == 1  # the next run reads version 2 again


def test_broken_records_are_quarantined_not_fatal(
        store: Store, server: Server, feed: Feed, records: list[dict[str, Any]]) -> None:
    damaged = [dict(r) for r in records[:20]]
    damaged[3]["title"] = None
    damaged[4]["tag_list"] = "not a list"
    feed.publish(server.url, 1, damaged, parts=1)
    add(store, server)
    run = harvest(store, NAME)
    assert run.status == "succeeded" and run.added == 18 and run.quarantined == 2


def test_version_file_problems_fail_clearly(store: Store, server: Server, feed: Feed) -> None:
    feed.version = b"<html>maintenance</html>"
    add(store, server)
    run = harvest(store, NAME)
    assert run.status == "failed" and "version file" in run.message
    feed.version = json.dumps({"module": "x", "module_version": 1, "urls": []}).encode()
    assert "no chunk URLs" in harvest(store, NAME).message


def test_media_urls_are_never_fetched(store: Store, server: Server, feed: Feed) -> None:
    feed.version = json.dumps({"module": "x", "module_version": 1,
                               "urls": [f"{server.url}/video/lesson.mp4"]}).encode()
    add(store, server)
    run = harvest(store, NAME)
    assert run.status == "failed" and not any(r.path.endswith(".mp4") for r in server.requests)


def test_chunk_urls_accept_lists_strings_and_relative_paths() -> None:
    base = "https://s-file-1.ykt.cbern.com.cn/zxx/ndrs/resources/tch_material/version/data_version.json"
    assert chunk_urls(base, "https://a/x/part_100.json, https://b/x/part_101.json,") == [
        "https://a/x/part_100.json", "https://b/x/part_101.json"]
    assert chunk_urls(base, ["../part_100.json"]) == [
        "https://s-file-1.ykt.cbern.com.cn/zxx/ndrs/resources/tch_material/part_100.json"]


def test_the_real_version_files_name_their_chunks(corpus: Path) -> None:
    for name, count in (("syncClassroom_data_version.json", 3), ("tchMaterial_data_version.json", 4)):
        data = json.loads((corpus / "zh/smartedu" / name).read_text())
        assert len(chunk_urls("https://s-file-1.ykt.cbern.com.cn/v.json", data["urls"])) == count
