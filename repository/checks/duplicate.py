"""Probable duplicate: what dedup (index/dedup, records.work_id) says about the record.

Another live record of the *same source* in the same work is a probable
duplicate (the platform published the lesson twice): warn, naming it. Records
of other sources in the work are the normal federation case (republications):
pass, with their number, and the review page shows them side by side.

Before dedupe has grouped the record nothing can be said yet, so the runner
does not run this check on it (``grouped``): the harvest's checks would store
a result that the dedupe right after makes due again. A record that has a
result and then loses its work is checked again (pass, "not grouped").

The stored result depends on the grouping, not only on the record's text, so
its key is the content hash plus the work id and its size: a new dedupe that
moves the record, or adds members to its work, makes it due again. The check
reads only the grouping, never the record itself.
"""

from __future__ import annotations

import hashlib

from repository.checks.base import WARN, Context, Finding, Result, Row
from schemas.record import Record

CODES = ("duplicate.same_source", "duplicate.elsewhere", "duplicate.not_grouped")
MAX_NAMED = 5


def key(row: Row, context: Context) -> str:
    members = context.members.get(row.work_id or "", [])
    text = f"{row.content_hash}\x00{row.work_id or ''}\x00{len(members)}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def grouped(row: Row) -> bool:
    return row.work_id is not None


def check(record: Record | None, row: Row, context: Context) -> Result:
    if row.work_id is None:
        return Result.of([Finding("duplicate.not_grouped", outcome="pass")])
    others = [(rid, sid) for rid, sid in context.members.get(row.work_id, []) if rid != row.id]
    same = sorted(rid for rid, sid in others if sid == row.source_id)
    findings = []
    if same:
        findings.append(Finding("duplicate.same_source", {"n": len(same), "records": same[:MAX_NAMED]}, WARN))
    elsewhere = len(others) - len(same)
    if elsewhere:
        findings.append(Finding("duplicate.elsewhere", {"n": elsewhere}, "pass"))
    return Result.of(findings)
