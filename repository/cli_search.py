"""`huiju reindex` and `huiju search`: the search index from the command line."""

from __future__ import annotations

import json

import click

from index.backend import FACETS, QuerySyntaxError, SearchQuery
from repository.cli import Context, main, pass_context
from repository.search import BACKENDS, open_backend, reindex


@main.command(name="reindex")
@click.option("--backend", "backend_name", type=click.Choice(BACKENDS), help="Engine to build (default: the setting).")
@click.option("--workers", type=click.IntRange(min=0), help="Processes that build the documents (0: this one; "
              "default: one per core, up to 4, from 50,000 works).")
@pass_context
def reindex_command(ctx: Context, backend_name: str | None, workers: int | None) -> None:
    """Rebuild the search index from the works in the store."""
    ctx.store.init()
    with open_backend(ctx.settings, backend_name) as backend:
        count = reindex(ctx.store, backend, workers=workers)
    click.echo(f"indexed {count} works")


@main.command()
@click.argument("text", default="")
@click.option("--stage")
@click.option("--grade", type=int)
@click.option("--subject")
@click.option("--edition")
@click.option("--type", "resource_type", help="Resource type code, e.g. micro-lecture.")
@click.option("--level", "source_level")
@click.option("--source", "sources")
@click.option("--sort", type=click.Choice(["relevance", "newest", "quality"]), default="relevance", show_default=True)
@click.option("--page", default=1, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def search(ctx: Context, text: str, sort: str, page: int, as_json: bool, **filters: str | int | None) -> None:
    """Search works, e.g. huiju search 勾股定理 --grade 8."""
    chosen = {facet: [value] for facet, value in filters.items() if value is not None}
    try:
        query = SearchQuery(text=text, filters=chosen, sort=sort, page=page, facets=FACETS[:8])
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    with open_backend(ctx.settings) as backend:
        try:
            result = backend.search(query)
        except QuerySyntaxError as exc:
            raise click.ClickException(f"cannot read the query: {exc.message}") from None
    if as_json:
        click.echo(json.dumps({"total": result.total, "hits": [{"id": h.id, "title": h.title} for h in result.hits],
                               "facets": {f: list(map(list, v)) for f, v in result.facets.items()}},
                              ensure_ascii=False))
        return
    click.echo(f"{result.total} works")
    for hit in result.hits:
        fields = hit.fields
        where = " ".join(str(fields.get(k)) for k in ("stage", "grade", "subject", "edition", "resource_type")
                         if fields.get(k))
        click.echo(f"{hit.id}  {hit.title}  [{where}]")
