"""Broken MARC files harvested end to end from a URL (the "marc" kind).

Each file mixes good records with one broken one: the broken record is
quarantined with a reason, the good ones of the same file are stored, and
what the store held before is unchanged. Real broken files from
../shared/corpus/marc are read in place.
"""

from __future__ import annotations

from pathlib import Path

import pymarc
import pytest
from pymarc import Field, Indicators, Subfield

from tests.harvester.servers import Reply, Server
from tests.reliability.conftest import Seeded, harvest, quarantined, titles


def marc_record(rid: str, title: str, *, description: str = "") -> bytes:
    record = pymarc.Record(force_utf8=True)
    record.add_field(Field(tag="001", data=rid))
    record.add_field(Field(tag="245", indicators=Indicators("0", "0"), subfields=[Subfield("a", title)]))
    for start in range(0, len(description), 9000):
        record.add_field(Field(tag="520", indicators=Indicators(" ", " "),
                               subfields=[Subfield("a", description[start:start + 9000])]))
    return record.as_marc()


GOOD = marc_record("m-1", "勾股定理 教案") + marc_record("m-2", "一次函数 课件")
GOOD_TITLES = {"勾股定理 教案", "一次函数 课件"}


def harvest_file(seeded: Seeded, server: Server, data: bytes) -> tuple[object, list]:
    server.app = lambda _request: Reply(body=data, content_type="application/marc")
    seeded.store.add_source("library", "marc", server.url + "/export.mrc", level="district")
    run = harvest(seeded.store, "library")
    seeded.assert_untouched()
    return run, quarantined(seeded.store, "library")


def test_record_longer_than_99999_bytes_is_quarantined(seeded: Seeded, server: Server) -> None:
    big = marc_record("m-big", "超长记录", description="勾股定理" * 12_000)
    assert len(big) > 99_999
    data = marc_record("m-1", "勾股定理 教案") + big + marc_record("m-2", "一次函数 课件")
    run, found = harvest_file(seeded, server, data)
    assert run.status == "succeeded", run.message
    assert [q.locator for q in found] == ["record 2"] and "cannot describe records over 99,999 bytes" in found[0].reason
    assert titles(seeded.store, "library") == GOOD_TITLES


@pytest.mark.parametrize("length", [b"99999", b"00030", b"00000"], ids=["too-long", "too-short", "zero"])
def test_wrong_leader_length_does_not_hide_the_other_records(seeded: Seeded, server: Server, length: bytes) -> None:
    liar = marc_record("m-liar", "长度不对的记录")
    run, found = harvest_file(seeded, server, GOOD + length + liar[5:] + marc_record("m-3", "最后一条"))
    assert run.status == "succeeded", run.message
    assert titles(seeded.store, "library") == GOOD_TITLES | {"长度不对的记录", "最后一条"}
    assert found == []


def test_non_numeric_leader_in_the_middle_is_quarantined(seeded: Seeded, server: Server) -> None:
    broken = b"ab3de" + marc_record("m-x", "坏的头标")[5:]
    run, found = harvest_file(seeded, server, GOOD + broken + marc_record("m-3", "最后一条"))
    assert run.status == "succeeded", run.message
    assert titles(seeded.store, "library") >= GOOD_TITLES | {"最后一条"}
    assert len(found) == 1 and found[0].raw


def test_marc8_declared_but_utf8_inside_is_read_as_utf8(seeded: Seeded, server: Server) -> None:
    utf8 = marc_record("m-u", "勾股定理 练习")
    lying = utf8[:9] + b" " + utf8[10:]  # leader/09 blank = MARC-8
    run, found = harvest_file(seeded, server, GOOD + lying)
    assert run.status == "succeeded" and found == []
    assert "勾股定理 练习" in titles(seeded.store, "library")


def test_utf8_declared_but_marc8_inside_is_read_as_marc8(seeded: Seeded, server: Server, corpus: Path) -> None:
    marc8 = (corpus / "marc/pymarc/marc8.dat").read_bytes()
    assert marc8[9:10] == b" "
    lying = marc8[:9] + b"a" + marc8[10:]
    run, found = harvest_file(seeded, server, GOOD + lying)
    assert run.status == "succeeded" and found == []
    [title] = titles(seeded.store, "library") - GOOD_TITLES
    assert title.startswith("Escape from loneliness") and "\ufffd" not in title


def test_a_truncated_file_keeps_what_it_could_read(seeded: Seeded, server: Server, corpus: Path) -> None:
    whole = (corpus / "marc/pymarc/test.dat").read_bytes()
    cut = whole[: len(whole) // 2]
    run, found = harvest_file(seeded, server, cut)
    assert run.status == "succeeded", run.message
    assert len(titles(seeded.store, "library")) == cut.count(b"\x1d")
    assert [q.reason.split(":")[0] for q in found] == ["truncated record"] and found[0].raw


@pytest.mark.parametrize("name", ["bad_records.mrc", "utf8_invalid.mrc", "bad_eacc_encoding.dat",
                                  "bad_marc8_escape.dat", "utf8_errors.dat"])
def test_real_broken_files_never_stop_the_run(seeded: Seeded, server: Server, corpus: Path, name: str) -> None:
    data = (corpus / "marc/pymarc" / name).read_bytes()
    run, found = harvest_file(seeded, server, data + GOOD)
    assert run.status == "succeeded", run.message
    assert GOOD_TITLES <= titles(seeded.store, "library")
    assert all(q.reason and q.raw for q in found)


def test_a_file_cut_to_nothing_useful_fails_clearly(seeded: Seeded, server: Server) -> None:
    run, found = harvest_file(seeded, server, b"00123nam a22")
    assert run.status == "failed" and "no records from the file" in run.message
    assert found and found[0].raw


def test_marcxml_with_an_external_entity_is_refused_without_fetching(
    seeded: Seeded, server: Server, tripwire: Server
) -> None:
    xml = (f'<?xml version="1.0"?><!DOCTYPE collection [<!ENTITY x SYSTEM "{tripwire.url}/leak">]>'
           '<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000nam a2200000 a 4500</leader>'
           '<controlfield tag="001">x1</controlfield><datafield tag="245" ind1="0" ind2="0">'
           "<subfield code=\"a\">&x;</subfield></datafield></record></collection>").encode()
    run, found = harvest_file(seeded, server, xml)
    assert tripwire.requests == []
    assert run.status == "failed" and "XML declares entities in a DTD" in run.message
    assert found and found[0].raw == xml
