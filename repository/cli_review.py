"""`huiju review approve`: the minimal curator step that publishes works.

The full review workflow (scores, levels, returns) is its own issue; this
command only approves a source's pending records, with one review action and
one audit entry per record, then refreshes work publication so OAI-PMH shows
the works (repository/publication.py holds the reusable functions).
"""

from __future__ import annotations

import click

from repository.cli import Context, main, pass_context


@main.group()
def review() -> None:
    """Approve records so their works are published (OAI-PMH)."""


@review.command()
@click.option("--source", required=True, help="Approve every pending record of this source.")
@click.option("--actor", default="cli", show_default=True, help="Who approves (kept in the audit log).")
@pass_context
def approve(ctx: Context, source: str, actor: str) -> None:
    """Approve all pending records of a source, then refresh work publication."""
    from repository.publication import approve_source

    ctx.store.init()
    try:
        report = approve_source(ctx.store, source, actor=actor)
    except KeyError:
        raise click.ClickException(f"no source named {source!r}; `huiju stats` lists them") from None
    click.echo(f"{source}: {report.summary()}")
    from repository.search import follow_store

    count = follow_store(ctx.settings, ctx.store, report.publication.flipped)
    click.echo(f"search index: {count} works updated")
