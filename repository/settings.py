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
    Setting("DATABASE_BUSY_TIMEOUT", 30.0, "Seconds a SQLite writer waits for another process's write lock "
            "before failing with 'the database is locked'.", float),
    Setting("SEARCH_BACKEND", "tantivy", "Search engine: tantivy (embedded) or elasticsearch."),
    Setting("INDEX_PATH", "", "Tantivy index folder. Empty: <INSTANCE_PATH>/index."),
    Setting("INDEX_LOCK_TIMEOUT", 120.0, "Seconds a command that writes the Tantivy index (dedupe, reindex, review) "
            "waits for another process's writer before failing.", float),
    Setting("ES_URL", "", "Elasticsearch/OpenSearch URL when SEARCH_BACKEND=elasticsearch."),
    Setting(
        "SECRET_KEY",
        "",
        "Key for sessions, CSRF and OAI-PMH resumption tokens. Empty: generated once and kept "
        "in <INSTANCE_PATH>/secret_key.",
    ),
    Setting("IMPORT_BATCH_SIZE", 1000, "Records per store transaction during import and harvest.", int),
    Setting("LOG_LEVEL", "INFO", "Python logging level for the CLI and server."),
    # The HTTP server of `huiju serve` (repository/server.py; see docs/settings.md).
    Setting("SERVER", "waitress", "WSGI server of `huiju serve`: waitress (one process, threads, any OS), gunicorn "
            "(SERVER_WORKERS processes, POSIX) or auto (gunicorn where installed).", str),
    Setting("SERVER_WORKERS", 0, "gunicorn processes; 0: one per CPU core. waitress always runs one.", int),
    Setting("SERVER_THREADS", 8, "Threads per server process.", int),
    # Teacher site and JSON API (repository/views/pages.py, api.py).
    Setting("SITE_SECURE_COOKIES", False, "Send the session cookie only over https (Secure flag); turn on behind TLS.",
            bool),
    Setting("SITE_PROXY_HOPS", 0, "Reverse proxies in front of the site whose X-Forwarded-For/-Proto/-Host are "
            "trusted (werkzeug ProxyFix); 0: none.", int),
    Setting("SITE_SHOW_UNPUBLISHED", False, "Teacher pages and /api also show works no curator has approved yet "
            "(demos, tests); off: approved works only.", bool),
    # OAI-PMH provider (repository/views/oai.py, repository/oai/; see docs/oai-pmh.md).
    Setting("OAI_REPOSITORY_NAME", "汇聚 Huiju", "repositoryName in Identify."),
    Setting("OAI_REPOSITORY_ID", "huiju.invalid", "Repository identifier in oai:<id>:<work id> (a domain name)."),
    Setting("OAI_BASE_URL", "", "baseURL in Identify. Empty: taken from the request."),
    Setting("OAI_ADMIN_EMAIL", "oai-admin@huiju.invalid", "adminEmail in Identify."),
    Setting("OAI_PAGE_SIZE", 200, "Records or headers per ListRecords/ListIdentifiers page.", int),
    Setting("OAI_TOKEN_LIFETIME", 86400, "Seconds a resumption token stays valid (keep >= 86400).", int),
    Setting("OAI_COMMIT_LAG", 2.0, "Seconds before now that a harvest stops (late commits never slip behind).",
            float),
    Setting("OAI_SETS", True, "Offer sets (ListSets, set=); off: noSetHierarchy.", bool),
    Setting("OAI_MAX_CONCURRENT", 4, "OAI-PMH requests served at once per process; more get 503 + Retry-After.",
            int),
    Setting("OAI_RETRY_AFTER", 10, "Seconds in the Retry-After header of a 503 (overloaded) answer.", int),
    # Harvesting (harvester/http.py and harvester/runner.py; see docs/harvesting.md).
    Setting("HARVEST_CONTACT", "", "URL or e-mail of the operator, sent in the harvester's User-Agent."),
    Setting("HARVEST_USER_AGENT", "", "User-Agent of the harvester. Empty: Huiju/<version> (+<HARVEST_CONTACT>)."),
    Setting("HARVEST_TIMEOUT", 30.0, "Seconds to wait for a connection or for the next bytes of a response.", float),
    Setting("HARVEST_RETRIES", 4, "Retries of a request after a transport error, 5xx or 429.", int),
    Setting("HARVEST_BACKOFF", 2.0, "Seconds before the first retry; doubles with each retry.", float),
    Setting("HARVEST_RETRY_AFTER_MAX", 600.0, "Longest Retry-After (seconds) honoured; longer waits are cut to it.",
            float),
    Setting("HARVEST_MAX_BYTES", 64 * 1024 * 1024, "Largest response body (after decompression) accepted.", int),
    Setting("HARVEST_MAX_FILE_BYTES", 8 * 1024**3, "Largest dump file (MARC, RDF) downloaded to disk.", int),
    Setting("HARVEST_DELAY", 0.0, "Pause in seconds between two requests to the same source.", float),
    Setting("HARVEST_OVERLAP", 3600, "Seconds an incremental OAI-PMH harvest reaches back before the last run.", int),
    Setting("HARVEST_STALE_AFTER", 3600, "Seconds without a heartbeat after which another host's harvest lock "
            "is taken over.", int),
    # Scheduling (harvester/schedule.py, `huiju schedule`; see docs/harvesting.md).
    Setting("SCHEDULE_TIMEZONE", "Asia/Shanghai", "Time zone in which sources' cron schedules are read."),
    Setting("SCHEDULE_MISFIRE_GRACE", 3600, "Seconds a missed scheduled harvest may start late; older ones are "
            "skipped (several missed runs become one).", int),
    Setting("SCHEDULE_WORKERS", 4, "Harvests the scheduler runs at the same time (one at a time per source).", int),
    # Automatic quality checks (repository/checks/, `huiju checks run`; see docs/curators.md).
    Setting("CHECKS_ON_HARVEST", True, "Run the offline checks on a source's new and changed records after each "
            "harvest.", bool),
    Setting("CHECKS_LINKS_ON_HARVEST", False, "Also check those records' links after each harvest (network).", bool),
    Setting("CHECKS_LINK_TIMEOUT", 5.0, "Seconds the link checker waits to connect or for each read.", float),
    Setting("CHECKS_LINK_CONCURRENCY", 8, "Links checked at the same time.", int),
    Setting("CHECKS_LINK_MAX_REDIRECTS", 5, "Redirects the link checker follows (each hop checked) before failing.",
            int),
    Setting("CHECKS_SENSITIVE_TERMS", "", "UTF-8 file of sensitive terms, one per line. Empty: the shipped list "
            "(repository/checks/sensitive_terms.txt)."),
    # Curator review (repository/review_levels.py, repository/api_tokens.py; see docs/curators.md).
    Setting("REVIEW_STAGES", ("district",), "Ordered review stages a record passes before it is approved, "
            "comma-separated (e.g. school,district); one stage: any curator's approval publishes.", tuple),
    Setting("API_TOKEN_LIFETIME", 7 * 86400, "Seconds a review API token (`huiju user token`) stays valid.", int),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def _convert(setting: Setting, value: Any) -> Any:
    if setting.type is int:
        return int(value)
    if setting.type is float:
        return float(value)
    if setting.type is bool:
        return str(value).lower() in ("1", "true", "yes", "on")
    if setting.type is tuple:  # a TOML list, or a comma-separated string (environment)
        items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
        return tuple(item.strip() for item in items if item.strip())
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
