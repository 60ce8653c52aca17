"""Source definitions: one validation for `huiju source add` and `huiju source load`.

Why a module of its own: a source is registered once and harvested for years,
so a typo (a misspelt option, a path that is not there, a level that does not
exist) must be refused at registration, with every problem listed at once,
not discovered by a failing run at 3 a.m. A TOML file is all-or-nothing.

TOML shape (one table per source, keyed by name)::

    [sources.city-oai]
    kind = "oai"
    url = "https://res.example.edu.cn/oai"
    level = "municipal"
    prefix = "oai_dc"
    set = "k12"
    schedule = "0 3 * * *"
    [sources.city-oai.options]
    delay = 1.0
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harvester.runner import KINDS
from repository.store import Store
from schemas.crosswalks import READERS
from schemas.record import SOURCE_LEVELS

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
URL_KINDS = ("oai", "smartedu", "crawl")
COMMON_OPTIONS = {"timeout", "retries", "delay", "max_bytes", "label", "local_links"}  # label: the name teachers see
# local_links: the link checker (repository/checks/links.py) may reach this source's private/loopback addresses
KIND_OPTIONS: dict[str, set[str] | None] = {
    "oai": {"prefix", "set", "format", "full"},
    "smartedu": {"force"},
    "marc": {"format", "force"},
    "rdf": {"format", "force"},
    "crawl": None,  # the crawler's own options are its business
}
TABLE_KEYS = {"kind", "url", "path", "location", "level", "prefix", "set", "schedule", "options",
              "auto_approve", "enabled"}
_INTERVAL = re.compile(r"^(?:every\s+)?\d+\s*(?:s|m|h|d|w|sec|min|hours?|days?|weeks?)$", re.I)
_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?]+$")
_CRON_ALIASES = {"@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@midnight"}


@dataclass
class SourceSpec:
    name: str
    kind: str
    location: str
    level: str | None
    options: dict[str, Any] = field(default_factory=dict)
    schedule: str = ""
    auto_approve: bool = False
    enabled: bool = True

    def problems(self) -> list[str]:
        """Everything wrong with this definition ([] when it can be registered)."""
        found: list[str] = []
        if not NAME.match(self.name):
            found.append(f"name {self.name!r}: use letters, digits, '.', '_' or '-' (at most 100)")
        if self.kind not in KINDS:
            found.append(f"kind {self.kind!r}: choose from {', '.join(KINDS)}")
        if self.level not in SOURCE_LEVELS:
            found.append(f"level {self.level!r}: choose from {', '.join(SOURCE_LEVELS)}")
        found += self._location_problems()
        if "local_links" in self.options:
            from repository.checks.links import local_option

            try:
                local_option(self.options["local_links"])
            except ValueError as exc:
                found.append(str(exc))
        allowed = KIND_OPTIONS.get(self.kind, set())
        if self.kind == "crawl":
            found += _crawl_problems(self.options)
        elif allowed is not None:
            unknown = set(self.options) - allowed - COMMON_OPTIONS
            if unknown:
                found.append(f"unknown option(s) {', '.join(sorted(unknown))} for kind {self.kind}")
        fmt = self.options.get("format")
        if fmt is not None and fmt not in READERS:
            found.append(f"option format={fmt!r}: choose from {', '.join(READERS)}")
        for key in ("timeout", "delay"):
            if key in self.options and not _number(self.options[key]):
                found.append(f"option {key}={self.options[key]!r} is not a number of seconds")
        for key in ("retries", "max_bytes"):
            if key in self.options and not str(self.options[key]).isdigit():
                found.append(f"option {key}={self.options[key]!r} is not a whole number")
        problem = schedule_problem(self.schedule)
        if problem:
            found.append(problem)
        return [f"{self.name}: {p}" for p in found]

    def _location_problems(self) -> list[str]:
        if not self.location:
            return ["no location: give a URL (or, for marc/rdf, a path)"]
        is_url = self.location.startswith(("http://", "https://"))
        if self.kind in URL_KINDS and not is_url:
            return [f"{self.kind} sources need an http(s) URL, not {self.location!r}"]
        if not is_url and not Path(self.location.removeprefix("file://")).expanduser().is_file():
            return [f"file {self.location!r} does not exist"]
        return []

    def fields(self) -> dict[str, Any]:
        return {"kind": self.kind, "location": self.location, "level": self.level, "options": self.options,
                "schedule": self.schedule, "auto_approve": self.auto_approve, "enabled": self.enabled}


def _number(value: Any) -> bool:
    try:
        return float(value) >= 0
    except (TypeError, ValueError):
        return False


def _crawl_problems(options: dict[str, Any]) -> list[str]:
    """The crawler's own check of its options (harvester/spiders), when that package is there."""
    try:
        from harvester.spiders.protocol import parse_options
    except ImportError:  # pragma: no cover - crawl kind not installed
        return []
    try:
        parse_options(options)
    except ValueError as exc:
        return [str(exc)]
    return []


def schedule_problem(text: str) -> str | None:
    """None when ``text`` is empty or a schedule the scheduler understands (harvester/schedule.py:
    cron, @aliases, intervals such as "6h"); else why not."""
    try:
        from harvester.schedule import ScheduleError, parse_schedule
    except ImportError:  # pragma: no cover - scheduler not installed: a lenient shape check
        return _schedule_shape(text)
    try:
        parse_schedule(text)
    except ScheduleError as exc:
        return str(exc)
    return None


def _schedule_shape(text: str) -> str | None:
    text = (text or "").strip()
    if not text or text in _CRON_ALIASES or _INTERVAL.match(text):
        return None
    parts = text.split()
    if len(parts) == 5 and all(_CRON_FIELD.match(p) for p in parts):
        return None
    return f"schedule {text!r}: use a cron expression (\"0 3 * * *\") or an interval (\"6h\", \"every 30m\")"


def option_value(text: str) -> Any:
    """A --option value typed as TOML would: true/false, integers and decimals; else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"option {text!r} is not key=value")
    return key.strip(), option_value(value)


def spec_from_table(name: str, table: dict[str, Any]) -> tuple[SourceSpec | None, list[str]]:
    """A SourceSpec from one TOML table, or the problems that prevent it."""
    unknown = set(table) - TABLE_KEYS
    if unknown:
        return None, [f"{name}: unknown key(s) {', '.join(sorted(unknown))}"]
    places = [k for k in ("url", "path", "location") if k in table]
    if len(places) > 1:
        return None, [f"{name}: give only one of url, path, location"]
    options = dict(table.get("options") or {})
    if not isinstance(table.get("options", {}), dict):
        return None, [f"{name}: options must be a table"]
    for key in ("prefix", "set"):
        if key in table:
            options[key] = table[key]
    spec = SourceSpec(
        name=name, kind=str(table.get("kind", "")), location=str(table[places[0]]) if places else "",
        level=table.get("level"), options=options, schedule=str(table.get("schedule", "")),
        auto_approve=bool(table.get("auto_approve", False)), enabled=bool(table.get("enabled", True)),
    )
    problems = spec.problems()
    return (None, problems) if problems else (spec, [])


def load_toml(path: Path) -> tuple[list[SourceSpec], list[str]]:
    """Every source of a TOML file, or every problem in it (then register none)."""
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return [], [f"{path}: {exc}"]
    tables = data.get("sources")
    extra = set(data) - {"sources"}
    if not isinstance(tables, dict) or not tables:
        return [], [f"{path}: no [sources.NAME] tables"]
    specs: list[SourceSpec] = []
    problems = [f"{path}: unknown top-level key(s) {', '.join(sorted(extra))}"] if extra else []
    for name, table in tables.items():
        if not isinstance(table, dict):
            problems.append(f"{name}: expected a table")
            continue
        spec, found = spec_from_table(name, table)
        problems += found
        if spec is not None:
            specs.append(spec)
    return specs, problems


def register(store: Store, specs: list[SourceSpec]) -> list[tuple[str, str]]:
    """Create or update each source; returns (name, "added" | "updated" | "unchanged")."""
    done: list[tuple[str, str]] = []
    for spec in specs:
        existing = store.get_source(spec.name)
        if existing is None:
            store.add_source(spec.name, **spec.fields())
            done.append((spec.name, "added"))
            continue
        changes = {k: v for k, v in spec.fields().items() if getattr(existing, k) != v}
        if changes:
            store.update_source(spec.name, **changes)
        done.append((spec.name, "updated" if changes else "unchanged"))
    return done
