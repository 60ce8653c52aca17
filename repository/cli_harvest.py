"""`huiju source …`, `huiju harvest`, `huiju quarantine list` and `huiju remap`.

Attached to repository.cli.main on import (cli.py imports this module). The
commands are thin: validation lives in harvester/sources.py, harvesting in
harvester/runner.py, re-mapping in repository/ingest.py.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import func, select

from repository.cli import Context, main, pass_context
from repository.models import HarvestRun, Quarantine
from schemas.record import SOURCE_LEVELS

KIND_CHOICES = ("oai", "smartedu", "marc", "rdf", "crawl")


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _run_line(run: Any) -> str:
    took = (run.ended - run.started).total_seconds() if run.ended and run.started else None
    line = (f"#{run.id} {run.status} {_when(run.started)} ({_duration(took)}): {run.pages} pages, "
            f"{run.added} added, {run.updated} updated, {run.deleted} deleted, {run.unchanged} unchanged, "
            f"{run.quarantined} quarantined")
    return line + (f"\n    {run.message}" if run.message else "")


# ---------------------------------------------------------------- source


@click.group()
def source() -> None:
    """Register, list and inspect harvest sources."""


@source.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(KIND_CHOICES), help="How the source is harvested.")
@click.option("--url", help="Base URL (OAI-PMH), version file URL (smartedu), start URL (crawl) or file URL.")
@click.option("--path", "path", type=click.Path(dir_okay=False), help="Local file (marc, rdf).")
@click.option("--level", required=True, type=click.Choice(SOURCE_LEVELS), help="Level of the publisher.")
@click.option("--prefix", help="OAI-PMH metadataPrefix (default oai_dc).")
@click.option("--set", "set_spec", help="OAI-PMH set to harvest.")
@click.option("--schedule", default="", help='Cron ("0 3 * * *") or interval ("6h") for the scheduler.')
@click.option("--option", "options", multiple=True, help="Extra option key=value (repeatable).")
@click.option("--auto-approve", is_flag=True, help="Publish this source's records without review.")
@pass_context
def source_add(ctx: Context, name: str, kind: str, url: str | None, path: str | None, level: str,
               prefix: str | None, set_spec: str | None, schedule: str, options: tuple[str, ...],
               auto_approve: bool) -> None:
    """Register a new source."""
    from harvester.sources import SourceSpec, parse_option, register

    if bool(url) == bool(path):
        raise click.UsageError("give exactly one of --url or --path")
    try:
        opts = dict(parse_option(o) for o in options)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if prefix:
        opts["prefix"] = prefix
    if set_spec:
        opts["set"] = set_spec
    location = url or str(Path(path or "").resolve())
    spec = SourceSpec(name, kind, location, level, opts, schedule, auto_approve=auto_approve)
    problems = spec.problems()
    ctx.store.init()
    if ctx.store.get_source(name) is not None:
        problems.append(f"{name}: a source of that name exists (edit it with `huiju source load`)")
    if problems:
        raise click.ClickException("; ".join(problems))
    register(ctx.store, [spec])
    click.echo(f"added source {name} ({kind}, {level}): {location}")


@source.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def source_load(ctx: Context, file: Path) -> None:
    """Register or update every source of a TOML file (all or none)."""
    from harvester.sources import load_toml, register

    specs, problems = load_toml(file)
    if problems:
        raise click.ClickException("nothing registered:\n  " + "\n  ".join(problems))
    ctx.store.init()
    for name, what in register(ctx.store, specs):
        click.echo(f"{name}: {what}")


@source.command("list")
@pass_context
def source_list(ctx: Context) -> None:
    """Sources with state, level, last run and records."""
    from repository.ingest import harvest_holder

    store = ctx.store
    store.init()
    sources = store.list_sources()
    if not sources:
        click.echo("no sources yet: `huiju source add` or `huiju source load` registers some")
        return
    click.echo(f"{'name':20} {'kind':8} {'state':9} {'level':10} {'last run':28} {'records':>8}")
    for src in sources:
        state = "running" if harvest_holder(store, src.name) else ("enabled" if src.enabled else "disabled")
        last = store.last_run(src)
        last_text = f"{last.status} {_when(last.started)}" if last else "never"
        records = store.count_records(source=src.name)
        click.echo(f"{src.name:20} {src.kind:8} {state:9} {src.level or '-':10} {last_text:28} {records:>8}")


@source.command("show")
@click.argument("name")
@click.option("--runs", default=5, show_default=True, help="How many recent runs to show.")
@pass_context
def source_show(ctx: Context, name: str, runs: int) -> None:
    """Settings of a source and its last runs."""
    store = ctx.store
    store.init()
    src = store.get_source(name)
    if src is None:
        raise click.ClickException(f"no source named {name!r}")
    options = " ".join(f"{k}={v}" for k, v in sorted((src.options or {}).items())) or "-"
    live = store.count_records(source=name)
    every = store.count_records(source=name, include_deleted=True)
    click.echo(f"name:         {src.name}\nkind:         {src.kind}\nlocation:     {src.location}\n"
               f"level:        {src.level or '-'}\noptions:      {options}\nschedule:     {src.schedule or '-'}\n"
               f"enabled:      {'yes' if src.enabled else 'no'}\n"
               f"auto-approve: {'yes' if src.auto_approve else 'no'}\n"
               f"records:      {live} ({every - live} deleted)")
    with store.session() as s:
        recent = list(s.scalars(select(HarvestRun).where(HarvestRun.source_id == src.id)
                                .order_by(HarvestRun.id.desc()).limit(runs)))
    facts = next(((r.checkpoint or {}).get("identify") for r in recent if (r.checkpoint or {}).get("identify")),
                 None)
    if facts:
        click.echo("server:       " + ", ".join(f"{k}={v}" for k, v in facts.items()))
    click.echo("last runs:" + ("" if recent else " none"))
    for run in recent:
        click.echo("  " + _run_line(run))


# ---------------------------------------------------------------- harvest


class _Display:
    """Progress: one rewritten line on a terminal, plain lines (at most one a second) otherwise."""

    def __init__(self, name: str, tty: bool) -> None:
        self.name, self.tty, self._last, self._width = name, tty, 0.0, 0

    def __call__(self, p: Any) -> None:
        done = f"{p.position}/{p.total}" if p.total and p.position is not None else (
            f"{p.records}/{p.total}" if p.total else str(p.records))
        eta = f", ETA {_duration(p.eta)}" if p.eta is not None else ""
        line = f"{self.name}: page {p.pages}, {done} records, {p.rate:.0f} rec/s{eta}"
        if self.tty:
            click.echo("\r" + line.ljust(self._width), nl=False, err=True)
            self._width = len(line)
        elif p.pages == 1 or time.monotonic() - self._last >= 1.0:
            self._last = time.monotonic()
            click.echo(line, err=True)

    def end(self) -> None:
        if self.tty and self._width:
            click.echo(err=True)


def _harvest_one(ctx: Context, name: str) -> bool:
    from harvester.runner import HarvestBusy, harvest_source

    display = _Display(name, sys.stderr.isatty())
    try:
        run = harvest_source(ctx.store, name, progress=display, settings=ctx.settings)
    except HarvestBusy as exc:
        display.end()
        click.echo(f"{name}: skipped: {exc}", err=True)
        return False
    except (KeyError, ValueError) as exc:
        display.end()
        click.echo(f"{name}: {exc.args[0] if exc.args else exc}", err=True)
        return False
    display.end()
    click.echo(f"{name}: " + _run_line(run))
    return run.status == "succeeded"


@click.command()
@click.argument("name", required=False)
@click.option("--all", "all_", is_flag=True, help="Harvest every enabled source, one after the other.")
@pass_context
def harvest(ctx: Context, name: str | None, all_: bool) -> None:
    """Harvest one source (or --all enabled sources) now."""
    from harvester.runner import KINDS

    if bool(name) == all_:
        raise click.UsageError("give a source NAME or --all")
    ctx.store.init()
    if name:
        names = [name]
    else:
        names = [s.name for s in ctx.store.list_sources(enabled=True) if s.kind in KINDS]
        if not names:
            click.echo("no enabled sources to harvest")
    ok = [_harvest_one(ctx, n) for n in names]
    if not all(ok):
        sys.exit(1)


# ---------------------------------------------------------------- quarantine, remap


@click.group()
def quarantine() -> None:
    """Inspect what could not be fetched, parsed, mapped or stored."""


@quarantine.command("list")
@click.option("--source", "source_name", help="Only entries of this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1),
              help="At most this many entries (newest last).")
@pass_context
def quarantine_list(ctx: Context, source_name: str | None, limit: int) -> None:
    """Quarantined entries with stage, locator and reason."""
    store = ctx.store
    store.init()
    if source_name and store.get_source(source_name) is None:
        raise click.ClickException(f"no source named {source_name!r}")
    names = {s.id: s.name for s in store.list_sources()}
    q = Quarantine
    where = [q.source_id == store.get_source(source_name).id] if source_name else []  # type: ignore[union-attr]
    with store.session() as s:  # newest N, without loading their bytes
        total = s.scalar(select(func.count()).select_from(q).where(*where)) or 0
        rows = s.execute(
            select(q.id, q.source_id, q.run_id, q.stage, q.locator, q.reason, func.length(q.raw).label("size"))
            .where(*where).order_by(q.id.desc()).limit(limit)
        ).all()
    if not rows:
        click.echo("quarantine is empty" + (f" for {source_name}" if source_name else ""))
        return
    for row in reversed(rows):
        size = f"{row.size} bytes" if row.size else "no bytes"
        click.echo(f"#{row.id} {names.get(row.source_id, '-')} run {row.run_id or '-'} {row.stage:8} "
                   f"{row.locator or '-'} ({size}): {row.reason}")
    if total > len(rows):
        click.echo(f"… {total - len(rows)} older entries not shown (--limit)")


@click.command()
@click.argument("source_name", metavar="SOURCE")
@pass_context
def remap(ctx: Context, source_name: str) -> None:
    """Re-map stored raw payloads with the current crosswalks (no fetch)."""
    from repository.ingest import remap_source

    ctx.store.init()
    try:
        report = remap_source(ctx.store, source_name, batch_size=ctx.settings["IMPORT_BATCH_SIZE"])
    except KeyError as exc:
        raise click.ClickException(exc.args[0]) from None
    click.echo(f"{source_name}: {report.summary()}")


for _command in (source, harvest, quarantine, remap):
    main.add_command(_command)
