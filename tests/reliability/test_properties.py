"""Property-based checks (hypothesis) that the per-format suites in tests/schemas do not make.

Those suites fuzz one or two fields per crosswalk. Here: every text field of
a record at once through every XML/JSON crosswalk, in → out → in stable (the
second trip changes nothing the first did not), the raw curriculum
normaliser on arbitrary Unicode in every slot, clean() idempotent and free of
bidi overrides, and the search query analyser (the user's text is hostile
input too).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from index.backend import QuerySyntaxError
from index.query import analyse_query
from schemas.crosswalks import Rejected, reader, writer
from schemas.normalise import build_curriculum
from schemas.record import Agent, Identifier, Record, to_json
from schemas.text import clean, fold

TEXT = st.text(max_size=60)
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FORMATS = ("oai_dc", "lom", "marcxml", "lrmi", "jsonl")
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def records(draw: st.DrawFn) -> Record:
    curriculum, _ = build_curriculum({"stage": "初中", "grade": "八年级", "subject": draw(TEXT) or "数学",
                                      "edition": draw(TEXT), "volume": "上册", "chapter": [draw(TEXT)]})
    return Record(
        source="prop", source_record_id="p-" + draw(st.text(alphabet="abcdefxyz0123456789", min_size=1, max_size=8)),
        title=draw(TEXT) or "题", description=draw(st.one_of(st.none(), TEXT)),
        keywords=draw(st.lists(TEXT, max_size=3)),
        alt_titles=draw(st.lists(TEXT, max_size=2)), agents=[Agent(draw(TEXT) or "某", school=draw(TEXT) or None)],
        identifiers=[Identifier("isbn", "9787107315473")], url="https://res.example.cn/r/1", language="zh",
        curriculum=curriculum, rights=draw(st.one_of(st.none(), TEXT)), created=datetime(2023, 9, 1, tzinfo=UTC),
    )


def through(fmt: str, record: Record) -> Record | Rejected:
    """write in ``fmt`` then read back: one trip."""
    out = writer(fmt)(record)
    if isinstance(out, dict):
        data = json.dumps(out, ensure_ascii=False).encode("utf-8", "surrogatepass")
    elif isinstance(out, bytes):
        data = out
    else:
        data = etree.tostring(out, encoding="utf-8")
    results = list(reader(fmt)(data, source=record.source))
    assert len(results) == 1, (fmt, results)
    return results[0]


@SLOW
@given(record=records())
def test_every_crosswalk_round_trip_is_stable(record: Record) -> None:
    for fmt in FORMATS:
        once = through(fmt, record)
        if isinstance(once, Rejected):  # only when nothing printable is left of the title
            assert once.reason, fmt
            continue
        twice = through(fmt, once)
        assert isinstance(twice, Record), (fmt, twice)
        assert content(twice) == content(once), fmt


def content(record: Record) -> bytes:
    """The record minus its identity: an LRMI export names each record by our own URN
    (urn:huiju:<id>), so reading it back is a new record of that name, by design."""
    return to_json(msgspec.structs.replace(record, source_record_id="", id=""))


@settings(max_examples=200, deadline=None)
@given(raw=st.fixed_dictionaries({}, optional={k: TEXT for k in (
    "stage", "grade", "subject", "edition", "volume", "class_hour", "school_system")}),
       chapter=st.lists(TEXT, max_size=3))
def test_the_curriculum_normaliser_never_crashes_and_is_stable(raw: dict[str, str], chapter: list[str]) -> None:
    curriculum, unmapped = build_curriculum({**raw, "chapter": chapter})
    assert all(u.value is not None for u in unmapped)
    again, _ = build_curriculum({
        "stage": curriculum.stage.zh if curriculum.stage else None,
        "grade": curriculum.grade_label, "subject": curriculum.subject.zh if curriculum.subject else None,
        "volume": curriculum.volume.zh if curriculum.volume else None, "chapter": curriculum.chapter_path,
    })
    assert (again.stage, again.grade, again.subject, again.volume) == (
        curriculum.stage, curriculum.grade, curriculum.subject, curriculum.volume)


@settings(max_examples=500, deadline=None)
@given(text=st.text())
def test_clean_is_idempotent_and_strips_bidi_overrides(text: str) -> None:
    once = clean(text)
    assert clean(once) == once
    assert not BIDI & set(once)
    fold(once)  # the comparison key of any cleaned text: must never raise


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400))
def test_query_analysis_never_crashes_on_any_unicode(text: str) -> None:
    try:
        analysed = analyse_query(text)
    except QuerySyntaxError as exc:
        assert exc.message and exc.key  # refused, with a catalogue key the site can translate
        return
    assert len(analysed.groups) <= 24 and len(analysed.phrases) <= 8
