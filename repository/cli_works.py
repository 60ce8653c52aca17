"""`huiju dedupe` and `huiju works …`: group records into works and explain them."""

from __future__ import annotations

import click

from repository.cli import Context, main, pass_context


def _snapshot(ctx: Context):  # noqa: ANN202
    return ctx.settings.instance_path / "dedup" / "state.bin"


@main.command()
@click.option("--rebuild", is_flag=True, help="Recluster everything from the store instead of incrementally.")
@pass_context
def dedupe(ctx: Context, rebuild: bool) -> None:
    """Group records that describe the same resource into works."""
    from repository.publication import refresh
    from repository.search import follow_store, open_backend, reindex
    from repository.works import dedupe as run_dedupe

    ctx.store.init()
    report = run_dedupe(ctx.store, _snapshot(ctx), rebuild=rebuild)
    click.echo(f"{report.summary()} ({', '.join(f'{step} {s:.1f} s' for step, s in report.seconds.items())})")
    publication = refresh(ctx.store, report.changed_ids | report.retired_ids)
    click.echo(f"publication: {publication.summary()}")
    if rebuild:
        with open_backend(ctx.settings) as backend:
            count = reindex(ctx.store, backend)
    else:
        count = follow_store(ctx.settings, ctx.store, report.changed_ids | publication.flipped, report.retired_ids)
    click.echo(f"search index: {count} works indexed")


@main.group()
def works() -> None:
    """Inspect works and record curator merge/split decisions."""


@works.command()
@click.argument("work_id")
@pass_context
def explain(ctx: Context, work_id: str) -> None:
    """Show which signals joined each member of a work, with scores."""
    from index.dedup.explain import render
    from repository.works import open_works_engine

    engine = open_works_engine(ctx.store, _snapshot(ctx))
    try:
        engine.members(work_id)
    except KeyError:
        raise click.ClickException(f"no work {work_id}; `huiju export --what works` lists them") from None
    click.echo(render(engine.explain(work_id)))


def _decide(ctx: Context, kind: str, a: str, b: str, curator: str, reason: str) -> None:
    from repository.works import dedupe as run_dedupe
    from repository.works import open_works_engine

    for rid in (a, b):
        if ctx.store.get_record(rid) is None:
            raise click.ClickException(f"no record {rid}")
    engine = open_works_engine(ctx.store, _snapshot(ctx))
    getattr(engine, kind)(a, b, curator=curator, note=reason)
    engine.save()
    report = run_dedupe(ctx.store, _snapshot(ctx))
    click.echo(f"{kind} recorded; {report.summary()}")


@works.command()
@click.argument("record_a")
@click.argument("record_b")
@click.option("--curator", required=True, help="Who decides (kept in the audit log).")
@click.option("--reason", default="", help="Why.")
@pass_context
def merge(ctx: Context, record_a: str, record_b: str, curator: str, reason: str) -> None:
    """Keep two records in one work, whatever the algorithm says."""
    _decide(ctx, "merge", record_a, record_b, curator, reason)


@works.command()
@click.argument("record_a")
@click.argument("record_b")
@click.option("--curator", required=True, help="Who decides (kept in the audit log).")
@click.option("--reason", default="", help="Why.")
@pass_context
def split(ctx: Context, record_a: str, record_b: str, curator: str, reason: str) -> None:
    """Keep two records in different works, whatever the algorithm says."""
    _decide(ctx, "split", record_a, record_b, curator, reason)
