"""`huiju review approve --source NAME`: trusted-source onboarding, a policy decision that publishes works.

It approves every pending record of the source outright, whatever the review
stages (REVIEW_STAGES), with one review action (stage "policy") and one audit
entry per record naming the source policy as the basis, then refreshes work
publication and the search index. Record-by-record decisions with the rubric
and the review stages are made on the review page or through the JSON API
(repository/review_decisions.py); see docs/curators.md.
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
