"""The named checks, in the order the pages show them.

An explicit table (no discovery by module name): a check's name is stored in
``record_checks.name`` and used in the queue's ``flag=`` filter, so it is
part of the interface; rename only with a migration of the stored rows.
"""

from __future__ import annotations

from repository.checks import duplicate, links, required, sensitive, technical, title, vocabulary
from repository.checks.base import Check, Context, Result, Row
from schemas.record import Record


def _link(record: Record, row: Row, context: Context) -> Result:
    """The runner checks links in parallel for the whole batch first and leaves the results here."""
    return context.links[row.id]


CHECKS: tuple[Check, ...] = (
    Check("required", required.check, required.CODES),
    Check("vocabulary", vocabulary.check, vocabulary.CODES),
    Check("title", title.check, title.CODES),
    Check("sensitive", sensitive.check, sensitive.CODES),
    Check("technical", technical.check, technical.CODES),
    Check("duplicate", duplicate.check, duplicate.CODES, key=duplicate.key, reads_record=False,
          applies=duplicate.grouped),
    Check("link", _link, links.CODES, network=True),
)
BY_NAME = {check.name: check for check in CHECKS}
NAMES = tuple(BY_NAME)


def selected(*, links: bool) -> tuple[Check, ...]:
    """The checks a run performs: the offline ones, plus the link check when asked."""
    return tuple(c for c in CHECKS if links or not c.network)
