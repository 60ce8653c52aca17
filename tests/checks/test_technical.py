"""Technical fields: implausible durations, formats, sizes and unsafe schemes are caught."""

from __future__ import annotations

import pytest

from repository.checks import technical
from schemas.record import Term
from tests.checks.conftest import CONTEXT, codes, lesson, row


def run(record):  # noqa: ANN001, ANN201
    return technical.check(record, row(record), CONTEXT)


def test_plausible_fields_pass() -> None:
    assert run(lesson()).outcome == "pass"
    assert run(lesson(resource_type=Term("courseware"), duration=None, format="application/vnd.ms-powerpoint"))\
        .outcome == "pass"


@pytest.mark.parametrize(("changes", "code"), [
    ({"duration": "12 minutes"}, "technical.duration_invalid"),
    ({"duration": "PT"}, "technical.duration_invalid"),
    ({"duration": "PT0S"}, "technical.duration_implausible"),
    ({"duration": "PT30H"}, "technical.duration_implausible"),
    ({"format": "ppt"}, "technical.format_invalid"),
    ({"format": 'text/html<script>alert("x")</script>'}, "technical.format_invalid"),
    ({"size": 0}, "technical.size_implausible"),
    ({"url": "javascript:alert(1)"}, "technical.url_scheme"),
    ({"thumbnails": ["javascript:alert(4)"]}, "technical.thumbnail_scheme"),
])
def test_implausible_values_fail(changes: dict, code: str) -> None:
    result = run(lesson(**changes))
    assert result.outcome == "fail" and codes(result) == [code]


def test_video_without_duration_or_with_a_document_format_warns() -> None:
    result = run(lesson(duration=None, format="text/html"))
    assert result.outcome == "warn"
    assert codes(result) == ["technical.duration_missing", "technical.format_mismatch"]
    assert technical.seconds("PT1H2M3.5S") == 3723.5 and technical.seconds("P1DT") is None
