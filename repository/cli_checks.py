"""`huiju checks run`: the automatic quality checks on demand (harvests run them by themselves).

Without options it checks every live record whose results are missing or out
of date (new, edited, or moved by dedupe); ``--all`` checks them all again,
``--links`` adds the link check (network), ``--source`` and ``--record`` narrow it.
"""

from __future__ import annotations

import click

from repository.cli import Context, main, pass_context


@main.group()
def checks() -> None:
    """Run the automatic quality checks that flag records for review."""


@checks.command("run")
@click.option("--source", help="Only this source's records.")
@click.option("--record", "records", multiple=True, help="Only this record id (repeatable).")
@click.option("--all", "everything", is_flag=True, help="Check again even records whose results are up to date.")
@click.option("--links", is_flag=True, help="Also check links (HTTP; private addresses only for local sources).")
@pass_context
def run(ctx: Context, source: str | None, records: tuple[str, ...], everything: bool, links: bool) -> None:
    """Check new and changed records (or --all) and store the results."""
    from repository.checks.runner import CheckReport, run_checks

    ctx.store.init()

    def progress(report: CheckReport) -> None:
        if report.seen % 20_000 == 0:
            click.echo(f"  {report.seen:,} records looked at, {report.checked:,} checked", err=True)

    try:
        report = run_checks(ctx.store, ctx.settings, ids=list(records) or None, source=source,
                            everything=everything, links=links, progress=progress)
    except KeyError:
        raise click.ClickException(f"no source named {source!r}; `huiju stats` lists them") from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(report.summary())
