"""The production HTTP server behind `huiju serve`: waitress (threads) or gunicorn (processes × threads).

Why two: the request path is Python holding the GIL most of the time (parse, facets, JSON),
so one process uses about one core however many threads it runs. waitress is pure Python
and runs everywhere, hence the default; gunicorn forks SERVER_WORKERS processes that each
open the same on-disk index read-only (the OS page cache is shared), to use idle cores
(benchmarks/search_http.py --server gunicorn measures both). gunicorn is POSIX only;
`SERVER=auto` picks it where it is installed and can run, waitress elsewhere.

Each gunicorn worker builds its own app after the fork (no preloading): the search
backend's threads and the database connections must not cross a fork.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

SERVERS = ("auto", "waitress", "gunicorn")


def gunicorn_available() -> bool:
    return os.name == "posix" and sys.platform != "cygwin" and importlib.util.find_spec("gunicorn") is not None


def choose(name: str) -> str:
    """The server `name` asks for ("auto": gunicorn where it can run, else waitress)."""
    if name not in SERVERS:
        raise ValueError(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")
    if name == "auto":
        return "gunicorn" if gunicorn_available() else "waitress"
    if name == "gunicorn" and not gunicorn_available():
        raise ValueError("SERVER=gunicorn needs a POSIX system with gunicorn installed (pip install gunicorn)")
    return name


def workers_for(setting: int) -> int:
    """SERVER_WORKERS, where 0 means one process per core."""
    return setting if setting > 0 else max(1, os.cpu_count() or 1)


def serve(make_app: Callable[[], Any], *, server: str, host: str, port: int, threads: int, workers: int) -> None:
    """Serve until interrupted; make_app (returning a WSGI app) runs once per process, in each gunicorn worker."""
    if server == "waitress":
        from waitress import serve as waitress_serve

        waitress_serve(make_app(), host=host, port=port, threads=threads, ident="huiju")
        return
    _gunicorn(make_app, host=host, port=port, threads=threads, workers=workers)


def _gunicorn(make_app: Callable[[], Any], *, host: str, port: int, threads: int, workers: int) -> None:
    from gunicorn.app.base import BaseApplication

    class HuijuGunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",  # threads per worker, and keep-alive connections
                "threads": threads,
                "keepalive": 5,
                "preload_app": False,
                "proc_name": "huiju",
                "accesslog": None,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return make_app()

    try:
        HuijuGunicorn().run()
    except SystemExit as exc:  # the arbiter exits on Ctrl-C/SIGTERM; return as waitress does
        if exc.code not in (0, None):
            raise
