"""Controlled vocabularies, loaded once from the JSON files in schemas/vocab/.

Each vocabulary is a `Vocabulary`: its terms by code, and a lookup from every
folded label and synonym to the term. The data files are the single source;
code never lists vocabulary values itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from schemas.record import Edition, Term
from schemas.text import fold

VOCABULARY_NAMES = (
    "stages",
    "grades",
    "subjects",
    "editions",
    "volumes",
    "resource_types",
    "source_levels",
    "honours",
    "review_dimensions",
    "licences",
)


@cache
def load_data(name: str) -> dict[str, Any]:
    """Raw content of schemas/vocab/<name>.json."""
    if name not in VOCABULARY_NAMES:
        raise KeyError(f"unknown vocabulary {name!r}")
    text = resources.files("schemas").joinpath("vocab", f"{name}.json").read_text("utf-8")
    return json.loads(text)


@dataclass
class Vocabulary:
    """Terms by code plus a folded-label index for matching free text."""

    name: str
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    index: dict[str, str] = field(default_factory=dict)

    def term(self, code: str) -> Term:
        entry = self.entries[code]
        return Term(code=code, zh=entry.get("zh", entry.get("label", "")), en=entry.get("en", ""))

    def lookup(self, text: str) -> str | None:
        """Code of the term whose label or synonym folds to text, else None."""
        return self.index.get(fold(text))

    def codes(self) -> list[str]:
        return list(self.entries)


@cache
def vocabulary(name: str) -> Vocabulary:
    data = load_data(name)
    vocab = Vocabulary(name)
    for entry in data["terms"]:
        code = entry["code"]
        vocab.entries[code] = entry
        labels = [code, entry.get("zh", ""), entry.get("en", ""), entry.get("label", "")]
        labels += entry.get("synonyms", [])
        if name == "resource_types":
            labels += entry.get("smartedu", [])
        if name == "licences":
            labels.append(entry.get("url", ""))
        for label in labels:
            if label:
                # The first term to claim a label keeps it; data files list
                # inbound values only under the term they should map to.
                vocab.index.setdefault(fold(label), code)
    return vocab


def edition_term(code: str, variant: str = "", chief_editor: str = "", label: str = "") -> Edition:
    """Build an Edition from the editions vocabulary."""
    entry = vocabulary("editions").entries[code]
    full_code = code if not variant else f"{code}-{fold(variant)}"
    return Edition(
        code=full_code,
        label=label or entry["label"],
        publisher=entry.get("publisher", ""),
        variant=variant,
        chief_editor=chief_editor,
    )


def grade_entries() -> dict[int, dict[str, Any]]:
    return {g["grade"]: g for g in load_data("grades")["grades"]}


def resource_type_entry(code: str) -> dict[str, Any]:
    return vocabulary("resource_types").entries[code]
