"""A throwaway PostgreSQL cluster for the tests: initdb in a temp folder, started on 127.0.0.1.

Why our own and not pytest-postgresql: the test machines run as root, and ``pg_ctl`` refuses
root (so does pytest-postgresql's process fixture). As root the cluster belongs to the
``postgres`` user and every server command runs through ``runuser``. Durability is off
(``initdb --no-sync``, ``fsync=off``): a test cluster never outlives its session.

Where the binaries are missing the tests that need them skip with the reason; under ``CI=true``
they fail instead, because ``.ci/run`` installs Debian's ``postgresql`` package first.

    with PgServer() as server:
        url = server.create_database("t")   # postgresql://sentimon@127.0.0.1:PORT/t_1
        url = server.create_schema()        # .../postgres?options=-csearch_path%3Dt_2
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

SUPERUSER = "sentimon"


def find_bin() -> Path | None:
    """The folder with initdb and pg_ctl: $SENTIMON_PG_BIN, Debian's newest
    /usr/lib/postgresql/N/bin, or wherever PATH has pg_ctl."""
    candidates = [os.environ.get("SENTIMON_PG_BIN", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]), reverse=True)
    on_path = shutil.which("pg_ctl")
    candidates.append(str(Path(on_path).resolve().parent) if on_path else "")
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    """One cluster; ``timings`` records what each step cost (seconds), for the report."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sentimon-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self.timings: dict[str, float] = {}
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stderr.strip()}\n{tail}")

    def start(self) -> None:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        began = time.perf_counter()
        self._run("initdb", "--no-sync", "-A", "trust", "-U", SUPERUSER, "-E", "UTF8",
                  "--locale=C", "-D", str(self.data))
        self.timings["initdb"] = time.perf_counter() - began
        for attempt in range(3):  # the free port can be taken between our probe and the bind
            self.port = _free_port()
            began = time.perf_counter()
            try:
                self._run("pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data),
                          "-l", str(self.root / "server.log"), "-o", self._options())
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self.timings["start"] = time.perf_counter() - began

    def restart(self) -> None:
        """Stop (dropping every connection, as a failover would) and start again. A fast stop,
        not an immediate one: with synchronous_commit off a crash may lose the last commits."""
        self._run("pg_ctl", "restart", "-w", "-m", "fast", "-D", str(self.data),
                  "-l", str(self.root / "server.log"), "-o", self._options())

    def pause(self) -> None:
        """Stop the server for an outage (a fast stop drops every connection), keeping its data."""
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))

    def resume(self) -> None:
        """Start it again after ``pause``, on the same port."""
        self._run("pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data),
                  "-l", str(self.root / "server.log"), "-o", self._options())

    def _options(self) -> str:
        """The server's settings: this port on 127.0.0.1, its socket in our folder, and no
        durability (nothing here outlives the session)."""
        return (f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database (each test gets its own, so none sees another's rows)."""
        import psycopg

        name = f"{prefix}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # our own counter, never user input
        return self.url(name)

    def create_schema(self, database: str = "postgres") -> str:
        """A URL whose connections work in a new empty schema (``search_path``) of
        ``database``: sub-millisecond, where CREATE DATABASE takes 0.05-0.4 s here."""
        import psycopg

        name = f"t_{next(self._names)}"
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')  # our own counter, never user input
        return f"{self.url(database)}?options=-csearch_path%3D{name}"

    def stop(self) -> None:
        began = time.perf_counter()
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "stop", "-m", "immediate", "-D", str(self.data))
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.timings["stop"] = time.perf_counter() - began

    def __enter__(self) -> "PgServer":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _unavailable(reason: str) -> None:
    """Skip, or under CI fail: CI installs PostgreSQL, so its absence there is a broken run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One cluster per test session, started on first use (about 1-2 s, see docs/postgresql.md)."""
    yield from _cluster()


@pytest.fixture
def own_pg_server() -> Iterator[PgServer]:
    """A cluster of this test's own, for a test that stops it (an outage) while others share
    the session's."""
    yield from _cluster()


def _cluster() -> Iterator[PgServer]:
    bin_dir = find_bin()
    if bin_dir is None:
        _unavailable("no initdb/pg_ctl (install Debian's 'postgresql' package, or set SENTIMON_PG_BIN)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[dev]' or '.[postgres]')")
    assert bin_dir is not None
    try:
        server = PgServer(bin_dir).__enter__()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        _unavailable(f"the test cluster did not start: {exc}")
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """The URL of a fresh, empty schema on the session's cluster: each test sees only its
    own tables, as in a database of its own (PgStore's objects go where search_path says)."""
    return pg_server.create_schema()
