"""Argument rules of each verb (pure): badVerb, badArgument, dates and granularity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from repository.oai.args import parse_request
from repository.oai.errors import ERRORS, OaiError


def parse(**args: str | list[str]):  # noqa: ANN201
    return parse_request({k: v if isinstance(v, list) else [v] for k, v in args.items()})


def code_of(**args: str | list[str]) -> str:
    with pytest.raises(OaiError) as caught:
        parse(**args)
    return caught.value.code


def test_registry_has_exactly_the_spec_codes() -> None:
    assert set(ERRORS) == {"badArgument", "badResumptionToken", "badVerb", "cannotDisseminateFormat",
                           "idDoesNotExist", "noRecordsMatch", "noMetadataFormats", "noSetHierarchy"}
    with pytest.raises(KeyError):
        OaiError("noSuchThing")


@pytest.mark.parametrize("args", [{}, {"verb": "Nope"}, {"verb": ["Identify", "Identify"]},
                                  {"verb": ["Identify", "ListSets"]}, {"verb": "identify"}])
def test_bad_verbs(args: dict) -> None:
    assert code_of(**args) == "badVerb"


@pytest.mark.parametrize("args", [
    {"verb": "Identify", "extra": "1"},                                      # unknown argument
    {"verb": "ListRecords"},                                                 # missing metadataPrefix
    {"verb": "GetRecord", "metadataPrefix": "oai_dc"},                       # missing identifier
    {"verb": "ListRecords", "metadataPrefix": ["oai_dc", "lom"]},           # repeated
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "resumptionToken": "x"},  # token is exclusive
    {"verb": "GetRecord", "identifier": "oai:a.b:w1", "metadataPrefix": "oai_dc", "set": "x"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-01-01T00:00:00"},  # no Z
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-02-30"},            # no such day
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-01-01T00:00:00.5Z"},  # finer than seconds
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-01-01", "until": "2025-01-02T00:00:00Z"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-01-02", "until": "2025-01-01"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2025-01-01T00:00:01Z",
     "until": "2025-01-01T00:00:00Z"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "学科"},       # not a setSpec
    {"verb": "ListRecords", "metadataPrefix": "oai dc"},                      # not a prefix
    {"verb": "ListSets", "resumptionToken": ""},                              # empty value
    {"verb": "GetRecord", "identifier": "not a uri", "metadataPrefix": "oai_dc"},
])
def test_bad_arguments(args: dict) -> None:
    assert code_of(**args) == "badArgument"


def test_from_until_are_inclusive_at_their_granularity() -> None:
    day = parse(verb="ListIdentifiers", metadataPrefix="oai_dc", **{"from": "2025-01-01", "until": "2025-01-01"})
    assert day.from_ == datetime(2025, 1, 1, tzinfo=UTC)
    assert day.until == datetime(2025, 1, 2, tzinfo=UTC)  # exclusive: the whole day is in
    second = parse(verb="ListIdentifiers", metadataPrefix="oai_dc",
                   **{"from": "2025-01-01T10:00:00Z", "until": "2025-01-01T10:00:00Z"})
    assert second.until == datetime(2025, 1, 1, 10, 0, 1, tzinfo=UTC)
    assert second.arguments == {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc",
                                "from": "2025-01-01T10:00:00Z", "until": "2025-01-01T10:00:00Z"}


def test_valid_requests() -> None:
    assert parse(verb="Identify").verb == "Identify"
    assert parse(verb="ListSets", resumptionToken="abc").resumption_token == "abc"
    req = parse(verb="ListRecords", metadataPrefix="lom", set="edition:pep-a")
    assert (req.metadata_prefix, req.set_spec, req.from_, req.until) == ("lom", "edition:pep-a", None, None)
    assert parse(verb="ListMetadataFormats", identifier="oai:huiju.test:w1").identifier == "oai:huiju.test:w1"
