"""The demo federation's persisted state: seed, size, ticks and the platforms' ports.

It lives in <INSTANCE_PATH>/demo/state.json so that `huiju demo --tick`
(another process) changes what the running platforms serve: they re-read the
file when its modification time moves. Ports are kept so that crawled record
ids (their page URLs) stay the same from one `huiju demo` to the next.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_SEED = 20261124
DEFAULT_SIZE = 5000
MAX_SIZE = 1_000_000
STATE_FILE = "state.json"


@dataclass
class DemoState:
    seed: int = DEFAULT_SEED
    size: int = DEFAULT_SIZE
    ticks: list[str] = field(default_factory=list)  # UTC ISO time of each tick, oldest first
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def tick(self) -> int:
        return len(self.ticks)

    def tick_time(self, tick: int) -> datetime:
        """When tick number ``tick`` (1-based) happened."""
        return datetime.fromisoformat(self.ticks[tick - 1])

    @classmethod
    def load(cls, folder: Path) -> DemoState:
        path = folder / STATE_FILE
        if not path.exists():
            return cls()
        data = json.loads(path.read_text("utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, folder: Path) -> None:
        """Written atomically: the platforms process may read it at any moment."""
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".state-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh, ensure_ascii=False, indent=1)
        os.replace(tmp, folder / STATE_FILE)

    def advance(self, now: datetime | None = None) -> int:
        """One more tick (now); returns its number."""
        self.ticks.append((now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat())
        return self.tick


class StateWatcher:
    """The state as a running server sees it: reloaded when the file changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stamp: float | None = None
        self._state = DemoState.load(folder)

    def current(self) -> DemoState:
        try:
            stamp = (self.folder / STATE_FILE).stat().st_mtime
        except FileNotFoundError:
            return self._state
        if stamp != self._stamp:
            self._stamp = stamp
            self._state = DemoState.load(self.folder)
        return self._state
