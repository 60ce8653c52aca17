"""Every Huiju setting, in one table.

A setting is read from the environment as HUIJU_<NAME>, else from the TOML
file named by HUIJU_CONFIG (keys in lower case, e.g. ``database_url = …``),
else its default. docs/settings.md documents each one; a test fails when a
setting here is missing from that page.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    type: type = str


SETTINGS: tuple[Setting, ...] = (
    Setting("CONFIG", "", "Path of an optional TOML file with settings (lower-case keys)."),
    Setting("INSTANCE_PATH", "instance", "Folder for the embedded database, search index and secret key."),
    Setting(
        "DATABASE_URL",
        "",
        "SQLAlchemy URL of the store. Empty: SQLite file <INSTANCE_PATH>/huiju.db (WAL). "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    ),
    Setting("SEARCH_BACKEND", "tantivy", "Search engine: tantivy (embedded) or elasticsearch."),
    Setting("INDEX_PATH", "", "Tantivy index folder. Empty: <INSTANCE_PATH>/index."),
    Setting("ES_URL", "", "Elasticsearch/OpenSearch URL when SEARCH_BACKEND=elasticsearch."),
    Setting(
        "SECRET_KEY",
        "",
        "Key for sessions, CSRF and OAI-PMH resumption tokens. Empty: generated once and kept "
        "in <INSTANCE_PATH>/secret_key.",
    ),
    Setting("IMPORT_BATCH_SIZE", 1000, "Records per store transaction during import and harvest.", int),
    Setting("LOG_LEVEL", "INFO", "Python logging level for the CLI and server."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _convert(setting: Setting, value: Any) -> Any:
    if setting.type is int:
        return int(value)
    if setting.type is bool:
        return str(value).lower() in ("1", "true", "yes", "on")
    return str(value)


class Settings:
    """Resolved settings. Construct with overrides for tests: Settings(DATABASE_URL=…)."""

    def __init__(self, environ: dict[str, str] | None = None, **overrides: Any):
        env = os.environ if environ is None else environ
        unknown = set(overrides) - set(_BY_NAME)
        if unknown:
            raise KeyError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        config_path = overrides.get("CONFIG") or env.get("HUIJU_CONFIG", "")
        from_file: dict[str, Any] = {}
        if config_path:
            with open(config_path, "rb") as fh:
                from_file = {k.upper(): v for k, v in tomllib.load(fh).items()}
            bad = set(from_file) - set(_BY_NAME)
            if bad:
                raise KeyError(f"{config_path}: unknown setting(s): {', '.join(sorted(bad))}")
        self._values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.name in overrides:
                value = overrides[setting.name]
            elif f"HUIJU_{setting.name}" in env:
                value = env[f"HUIJU_{setting.name}"]
            elif setting.name in from_file:
                value = from_file[setting.name]
            else:
                value = setting.default
            self._values[setting.name] = _convert(setting, value)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    @property
    def instance_path(self) -> Path:
        return Path(self._values["INSTANCE_PATH"]).resolve()

    @property
    def database_url(self) -> str:
        if self._values["DATABASE_URL"]:
            return self._values["DATABASE_URL"]
        return f"sqlite:///{self.instance_path / 'huiju.db'}"

    @property
    def index_path(self) -> Path:
        return Path(self._values["INDEX_PATH"] or self.instance_path / "index")

    def secret_key(self) -> str:
        """The configured key, else one generated once and kept in the instance folder."""
        if self._values["SECRET_KEY"]:
            return self._values["SECRET_KEY"]
        path = self.instance_path / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.instance_path.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        path.write_text(key)
        path.chmod(0o600)
        return key
