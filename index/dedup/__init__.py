"""Dedup: group the copies of one teaching resource that reach Huiju from the
national, provincial, city and district platforms into one *work*, without
ever merging look-alikes (other edition, class hour, resource type, subject,
grade or teacher).

    engine = DedupEngine()                     # or DedupEngine.rebuild(records, decisions)
    work = engine.add(record)                  # record joins / founds a work
    engine.remove(record_id)                   # record leaves; its work re-clusters locally
    engine.members(work); engine.canonical(work); engine.merged(work)
    engine.merge(a, b) / engine.split(a, b) / engine.pin(a)   # curator decisions win
    engine.explain(work)                       # signals and scores per member
    engine.snapshot() / DedupEngine.restore(blob)             # persistence

Modules: keys (title normalisation), signals (features, identifier and text
signals, vetoes), blocking (which pairs of a large title group can match),
lsh (MinHash LSH), cluster (union-find with vetoes and
curator constraints), engine (the API above), canonical (canonical record,
merged view with provenance), explain, persist (StateStore), evaluation.
"""

from index.dedup.cluster import Decision
from index.dedup.engine import DedupEngine, EngineConfig
from index.dedup.keys import TitleParse, parse_title
from index.dedup.signals import Features, Match, Thresholds, canonical_url, compare, features

__all__ = [
    "DedupEngine",
    "EngineConfig",
    "Decision",
    "Features",
    "Match",
    "Thresholds",
    "TitleParse",
    "canonical_url",
    "compare",
    "features",
    "parse_title",
]
