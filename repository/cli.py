"""`huiju`: the single entry point for operators, CI and the acceptance checks.

Command names and options are a public interface: the README, docs and
acceptance checks call them, so change them only with a deprecation path.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from repository.settings import Settings
from repository.store import Store
from schemas.crosswalks import READERS, WRITERS
from schemas.record import SOURCE_LEVELS

IMPORT_FORMATS = tuple(READERS)
EXPORT_FORMATS = tuple(f for f in WRITERS)


class Context:
    """Settings and a lazily opened store, shared by the commands."""

    def __init__(self) -> None:
        self.settings = Settings()
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            if self.settings.database_url.startswith("sqlite:///"):
                self.settings.instance_path.mkdir(parents=True, exist_ok=True)
            self._store = Store(self.settings.database_url, busy_timeout=self.settings["DATABASE_BUSY_TIMEOUT"])
        return self._store


pass_context = click.make_pass_decorator(Context, ensure=True)


class HuijuGroup(click.Group):
    """Failures of the environment (database full, locked or gone; search engine down) end a
    command with one clear `Error:` line and exit status 1, not a Python traceback."""

    def invoke(self, ctx: click.Context) -> object:
        from sqlalchemy.exc import InterfaceError, OperationalError

        from index.backend import SearchError
        from repository.store import database_problem

        try:
            return super().invoke(ctx)
        except (OperationalError, InterfaceError) as exc:
            raise click.ClickException(database_problem(exc) or str(exc)) from None
        except SearchError as exc:
            raise click.ClickException(f"search index: {exc}") from None


@click.group(cls=HuijuGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="huiju")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Huiju (汇聚): a federated repository for K-12 teaching resources."""
    obj = ctx.ensure_object(Context)
    logging.basicConfig(level=obj.settings["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations report through `huiju init`
    # The search client logs every retry with a traceback; a failure ends in one `Error:` line (HuijuGroup).
    logging.getLogger("elastic_transport").setLevel(logging.ERROR)


@main.command()
@pass_context
def init(ctx: Context) -> None:
    """Create or migrate the database to the latest schema."""
    ctx.store.init()
    click.echo(f"database ready: {_safe_url(ctx.settings.database_url)}")


@main.command(name="import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", required=True, type=click.Choice(IMPORT_FORMATS), help="Format of the file.")
@click.option("--source", required=True, help="Source name the records belong to (created if new).")
@click.option("--level", type=click.Choice(SOURCE_LEVELS), help="Source level (national … school).")
@pass_context
def import_(ctx: Context, path: Path, fmt: str, source: str, level: str | None) -> None:
    """Load records from a file; bad records go to the quarantine."""
    from repository.ingest import import_payload

    ctx.store.init()
    report = import_payload(
        ctx.store, path.read_bytes(), format=fmt, source_name=source, location=str(path.resolve()),
        level=level, batch_size=ctx.settings["IMPORT_BATCH_SIZE"],
    )
    click.echo(f"{path.name}: {report.summary()}")


@main.command()
@click.option("--what", type=click.Choice(["records", "works"]), default="records", show_default=True)
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="jsonl", show_default=True)
@click.option("--source", help="Only records of this source.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default stdout).")
@pass_context
def export(ctx: Context, what: str, fmt: str, source: str | None, output: Path | None) -> None:
    """Write records or works in jsonl, oai_dc, lom, marcxml or lrmi."""
    from repository.export import export_records, export_works

    ctx.store.init()
    stream = output.open("wb") if output else sys.stdout.buffer
    try:
        if what == "records":
            count = export_records(ctx.store, fmt, stream, source=source)
        else:
            count = export_works(ctx.store, fmt, stream)
    finally:
        if output:
            stream.close()
        else:
            stream.flush()
    click.echo(f"exported {count} {what}", err=True)
    if what == "works" and count == 0:
        click.echo("no works yet: run `huiju dedupe` first", err=True)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--server", type=click.Choice(["auto", "waitress", "gunicorn"]),
              help="WSGI server (default: the SERVER setting; see docs/settings.md).")
@click.option("--workers", type=int, help="gunicorn processes, 0 = one per core (default: SERVER_WORKERS).")
@click.option("--threads", type=int, help="Threads per server process (default: SERVER_THREADS).")
@pass_context
def serve(ctx: Context, host: str, port: int, server: str | None, workers: int | None, threads: int | None) -> None:
    """Serve the site, JSON API and OAI-PMH with the production server (waitress or gunicorn)."""
    from repository import server as servers
    from repository.app import create_app

    try:
        chosen = servers.choose(server or ctx.settings["SERVER"])
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    threads = threads if threads is not None else ctx.settings["SERVER_THREADS"]
    processes = servers.workers_for(workers if workers is not None else ctx.settings["SERVER_WORKERS"])
    ctx.store.init()
    shape = f"{threads} threads" if chosen == "waitress" else f"{processes} processes × {threads} threads"
    click.echo(f"Huiju is serving on http://{host}:{port}/  ({chosen}, {shape}; Ctrl-C stops)")
    if chosen == "waitress":
        app = create_app(ctx.settings, store=ctx.store)
        servers.serve(lambda: app, server=chosen, host=host, port=port, threads=threads, workers=1)
    else:  # each worker opens its own store and index after the fork (the schema is already up to date)
        settings = ctx.settings
        ctx.store.close()
        servers.serve(
            lambda: create_app(settings, store=Store(settings.database_url,
                                                     busy_timeout=settings["DATABASE_BUSY_TIMEOUT"])),
            server=chosen, host=host, port=port, threads=threads, workers=processes)


@main.command()
@click.option("--size", type=click.IntRange(100, 1_000_000),
              help="Records across the platforms (default 5,000; remembered by later runs).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Harvest and prepare everything, then stop the platforms and exit.")
@click.option("--tick", is_flag=True, help="Move the platforms on (add, edit, delete lessons) and exit.")
@click.option("--link-checks/--no-link-checks", default=True, show_default=True,
              help="Check every record's link once the index is built (an HTTP request per record).")
@click.pass_context
def demo(click_ctx: click.Context, size: int | None, host: str, port: int, no_serve: bool, tick: bool,
         link_checks: bool) -> None:
    """Run six simulated platforms, harvest them and serve the site on 127.0.0.1."""
    from repository.demo import DemoPlatforms, prepare_demo, tick_demo

    ctx = click_ctx.ensure_object(Context)
    ctx.store.init()
    if tick:
        for line in tick_demo(ctx.settings):
            click.echo(line)
        return
    try:
        with DemoPlatforms(ctx.settings, size=size) as platforms:
            for line in prepare_demo(ctx.store, ctx.settings, platforms, links=link_checks,
                                     site=None if no_serve else f"http://{host}:{port}/"):
                click.echo(line)
            if not no_serve:
                click_ctx.invoke(serve, host=host, port=port)
    except KeyboardInterrupt:  # while preparing (waitress itself returns on Ctrl-C)
        click.echo("interrupted: the demo platforms are down", err=True)
        sys.exit(130)
    if not no_serve:
        click.echo("stopped: the site and the demo platforms are down")


@main.command()
@pass_context
def stats(ctx: Context) -> None:
    """Show sources with their record counts and last run."""
    ctx.store.init()
    sources = ctx.store.list_sources()
    if not sources:
        click.echo("no sources yet: `huiju import` or `huiju demo` adds some")
    for source in sources:
        records = ctx.store.count_records(source=source.name)
        click.echo(f"{source.name:20} {source.level or '-':11} {records:8} records")


def _safe_url(url: str) -> str:
    """Database URL without a password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register_command_modules() -> None:
    """Commands of other areas live in their own modules and attach to `main`."""
    from importlib import import_module

    for name in ("repository.cli_works", "repository.cli_search", "repository.cli_harvest",
                 "repository.cli_schedule", "repository.cli_review", "repository.cli_users",
                 "repository.cli_checks"):
        import_module(name)


_register_command_modules()

