"""`huiju schedule list` and `huiju schedule run`: the harvest schedule of the sources.

Attached to repository.cli.main on import (cli.py imports this module). The
work is in harvester/schedule.py; here are only the table and the signals.
"""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click

from repository.cli import Context, main, pass_context


@click.group()
def schedule() -> None:
    """Show the harvest schedule or run the scheduler that keeps it."""


@schedule.command("list")
@pass_context
def list_(ctx: Context) -> None:
    """Enabled sources with a schedule, their next and last run."""
    from harvester.schedule import list_schedule

    ctx.store.init()
    entries = list_schedule(ctx.store, ctx.settings)
    if not entries:
        click.echo("no source has a schedule: `huiju source add NAME --schedule '0 3 * * *' …` sets one")
        return
    computed = False
    tz = ZoneInfo(ctx.settings["SCHEDULE_TIMEZONE"])
    for entry in entries:
        if entry.problem:
            next_text = f"NOT SCHEDULED: {entry.problem}"
        else:
            mark = "" if entry.planned else "*"
            computed = computed or not entry.planned
            when = entry.next_run.strftime("%Y-%m-%d %H:%M") if entry.next_run else "-"
            next_text = f"next {when}{mark} ({due_in(entry.next_run)})"
        click.echo(f"{entry.name:20} {entry.schedule:16} {next_text}  last: {_last(entry.last_run, tz)}")
    if computed:
        click.echo(f"* from the schedule alone: no `huiju schedule run` has planned it yet "
                   f"(times in {ctx.settings['SCHEDULE_TIMEZONE']})")


def due_in(when: datetime | None, now: datetime | None = None) -> str:
    """'in 2h 05m' / 'in 3d 4h' / 'now' for a next-run time; 'paused' for none."""
    if when is None:
        return "paused"
    seconds = int((when - (now or datetime.now(when.tzinfo))).total_seconds())
    if seconds <= 0:
        return "now"
    delta = timedelta(seconds=seconds)
    hours, minutes = divmod(delta.seconds // 60, 60)
    if delta.days:
        return f"in {delta.days}d {hours}h"
    return f"in {hours}h {minutes:02d}m" if hours else f"in {minutes}m {delta.seconds % 60:02d}s"


def _last(run: Any, tz: ZoneInfo) -> str:
    if run is None:
        return "never"
    return f"{run.status} {run.started.astimezone(tz).strftime('%Y-%m-%d %H:%M')}"


@schedule.command("run")
@click.option("--sync-every", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="Seconds between re-reading the sources for new or changed schedules.")
@pass_context
def run(ctx: Context, sync_every: float) -> None:
    """Run scheduled harvests until Ctrl-C or SIGTERM (a long-running worker)."""
    from harvester.schedule import work

    ctx.store.init()
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            click.echo("second signal: exiting now; unfinished runs are marked interrupted later", err=True)
            os._exit(130)
        click.echo(f"{signal.Signals(signum).name}: stopping; harvests under way finish first "
                   "(signal again to exit at once)")
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    work(ctx.store, ctx.settings, stop, sync_every=sync_every, echo=click.echo)
    click.echo("scheduler stopped")


main.add_command(schedule)
