"""Scaffolding shared by the benchmarks: a throwaway environment, a separate PostgreSQL
database (or a temporary SQLite file), a bare reference view, query timing and plans, and
the machine's CPU model.

Scripts in bench/ import it as ``djangobench`` (bench/ is on sys.path when a script in it runs).
"""

from __future__ import annotations

import os
import platform
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The bench urlconf: ketacare.urls plus the bare reference view. Filled in by
# _install_urls() once Django's apps are loaded (including ketacare.urls imports models).
urlpatterns: list[Any] = []


def bare_view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(b"ok", content_type="text/plain")


def _install_urls() -> None:
    from django.urls import include, path

    urlpatterns[:] = [
        path("bench/bare/", bare_view, name="bench-bare"),
        path("", include("ketacare.urls")),
    ]


# --- database and environment ----------------------------------------------------------------


@dataclass
class PgAdmin:
    """Creates and drops the bench database on the server named by DATABASE_URL."""

    params: dict[str, Any]
    name: str
    created: bool = False

    @classmethod
    def from_url(cls, url: str, name: str) -> PgAdmin:
        import dj_database_url

        config = dj_database_url.parse(url)
        return cls(
            name=name,
            params={
                "dbname": config["NAME"] or "postgres",
                "user": config.get("USER") or None,
                "password": config.get("PASSWORD") or None,
                "host": config.get("HOST") or None,
                "port": config.get("PORT") or None,
            },
        )

    def _execute(self, statement: Any) -> None:
        import psycopg

        with psycopg.connect(**self.params, autocommit=True) as conn:
            conn.execute(statement)

    def create(self) -> None:
        import psycopg
        from psycopg import sql

        try:
            self._execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))
        except psycopg.errors.DuplicateDatabase:
            sys.exit(
                f"Database {self.name!r} already exists on that server (left over from an "
                f"interrupted run?). It is not dropped automatically in case it is someone "
                f"else's; drop it yourself (DROP DATABASE {self.name}) and run again."
            )
        self.created = True

    def drop(self) -> None:
        if not self.created:
            return
        from psycopg import sql

        self._execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
        )
        self.created = False

    def url_for_bench(self, url: str) -> str:
        return urlsplit(url)._replace(path=f"/{self.name}").geturl()


def prepare_environment(tmp: Path, database_url: str | None) -> None:
    """Throwaway data dir, key and hosts; before ketacare.settings is imported."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "ketacare.settings"
    os.environ["KETACARE_DATA_DIR"] = str(tmp / "data")
    os.environ["SECRET_KEY"] = "bench-only-" + secrets.token_urlsafe(32)
    os.environ["ALLOWED_HOSTS"] = "testserver"
    # Settings that would change what is measured (redirects, query logging, 2FA prompts).
    for name in (
        "DEBUG",
        "KETACARE_DEMO",
        "KETACARE_REQUIRE_2FA",
        "KETACARE_BEHIND_TLS_PROXY",
        "KETACARE_STATIC_ROOT",
    ):
        os.environ.pop(name, None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        os.environ.pop("DATABASE_URL", None)  # settings default: SQLite in the data dir
    (tmp / "data" / "static").mkdir(parents=True)  # STATIC_ROOT, so whitenoise does not warn


def setup_django() -> None:
    import django
    from django.conf import settings

    settings.ROOT_URLCONF = __name__  # this module's urlpatterns
    django.setup()
    _install_urls()


def run_isolated(db_name: str, parser: Any, body: Any) -> int:
    """Run ``body()`` against a fresh database: a separate PostgreSQL database ``db_name`` on
    the server named by DATABASE_URL (created, then dropped), else a temporary SQLite file.
    Django is set up first; everything is removed afterwards, whatever happens."""
    database_url = os.environ.get("DATABASE_URL", "").strip() or None
    if not database_url:
        return run_existing(None, body)
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        parser.error("DATABASE_URL must be a PostgreSQL URL (unset it to use SQLite)")
    pg = PgAdmin.from_url(database_url, db_name)
    pg.create()
    try:
        return run_existing(pg.url_for_bench(database_url), body)
    finally:
        pg.drop()


def run_existing(database_url: str | None, body: Any) -> int:
    """Run ``body()`` against the database at ``database_url`` (None: a temporary SQLite file
    in a throwaway data directory), kept as it is. Django is set up first; its connections
    are closed and the data directory removed afterwards, whatever happens."""
    import shutil
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="ketacare-bench-"))
    try:
        prepare_environment(tmp, database_url)
        setup_django()
        return int(body())
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


def sql_time_ms(sql: str, params: Any, repeat: int = 7) -> float:
    """Median time to execute the statement and fetch every row, outside Django."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter_ns()
            cursor.execute(sql, params)
            cursor.fetchall()
            times.append((time.perf_counter_ns() - started) / 1e6)
    return statistics.median(times)


def explain(sql: str, params: Any) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
            return [row[0] for row in cursor.fetchall()]
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        rows = cursor.fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node_id, parent, _, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + detail)
    return lines


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
