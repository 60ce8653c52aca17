"""Vocabulary data files: well-formed, bilingual, no label claimed twice by accident."""

from __future__ import annotations

import pytest

from schemas.text import fold
from schemas.vocab import VOCABULARY_NAMES, load_data, vocabulary


@pytest.mark.parametrize("name", [n for n in VOCABULARY_NAMES if n != "grades"])
def test_terms_have_codes_and_labels(name: str) -> None:
    vocab = vocabulary(name)
    assert vocab.entries, name
    for code, entry in vocab.entries.items():
        assert code and code.isascii(), code
        assert entry.get("zh") or entry.get("label"), code
        if name not in ("editions", "licences"):
            assert entry.get("en"), code


@pytest.mark.parametrize("name", ["stages", "subjects", "resource_types", "source_levels", "honours", "volumes"])
def test_own_labels_map_back_to_their_term(name: str) -> None:
    vocab = vocabulary(name)
    for code, entry in vocab.entries.items():
        assert vocab.lookup(entry["zh"]) == code, entry["zh"]


def test_resource_types_map_to_lrmi_and_lom() -> None:
    lom = set(load_data("resource_types")["terms"][0].keys())
    assert {"lrmi", "lom"} <= lom
    lom_values = {"exercise", "simulation", "questionnaire", "diagram", "figure", "graph", "index", "slide",
                  "table", "narrative text", "exam", "experiment", "problem statement", "self assessment", "lecture"}
    for entry in load_data("resource_types")["terms"]:
        assert entry["lom"] in lom_values, entry["code"]
        assert entry["lrmi"], entry["code"]


def test_required_synonyms() -> None:
    """The synonym sets the product promises (issue Foundation)."""
    assert vocabulary("subjects").lookup("生物") == vocabulary("subjects").lookup("生物学")
    assert vocabulary("subjects").lookup("信息技术") == vocabulary("subjects").lookup("信息科技")
    assert vocabulary("subjects").lookup("政治") == vocabulary("subjects").lookup("思想政治")
    assert vocabulary("editions").lookup("部编版") == vocabulary("editions").lookup("统编版")


def test_grades_cover_1_to_12() -> None:
    grades = load_data("grades")["grades"]
    assert [g["grade"] for g in grades] == list(range(1, 13))
    labels = [fold(g["zh"]) for g in grades]
    assert len(set(labels)) == 12


def test_fold() -> None:
    assert fold("數學 ＡＢＣ") == "数学abc"
    assert fold("初中（五•四学制）") == fold("初中(五·四学制)")
