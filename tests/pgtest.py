"""PostgreSQL for the tests: always a real server, never a stand-in.

Which server: ``AUDIT_CONSOLE_TEST_PG`` (a URL of a server where the tests may create databases, or
``pgserver`` for the throwaway one below),
else the machine's own on 127.0.0.1:5432 (development and CI machines run one), else a throwaway
one started from the ``pgserver`` package (in the test extra: PostgreSQL 16 binaries, so a fresh
machine with only Python and pip runs these tests too). When none can be had the tests that need
it fail, never skip: a run that quietly left PostgreSQL out would pass for the wrong reason.

Each test gets a database of its own (``pg_url``), dropped afterwards. A test that stops,
restarts or cuts off PostgreSQL starts its own cluster instead (``Cluster``), never the shared one.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

_LOCAL = "postgresql://postgres@127.0.0.1:5432/postgres"
_counter = itertools.count()
_server: str | None = None
_lock = threading.Lock()


def _run(coro: Any) -> Any:
    """Run a coroutine from synchronous fixture code, even when a loop is running in this thread."""
    out: list[Any] = []
    err: list[BaseException] = []

    def target() -> None:
        try:
            out.append(asyncio.run(coro))
        except BaseException as e:  # noqa: BLE001 - handed back to the caller
            err.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if err:
        raise err[0]
    return out[0]


async def _execute(dsn: str, *statements: str) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        return [await conn.fetchval(s) for s in statements]
    finally:
        await conn.close()


def _reachable(dsn: str) -> bool:
    try:
        _run(_execute(dsn, "SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means: not this one
        return False
    return True


def _throwaway_pgserver() -> str:
    try:
        import pgserver
    except ImportError as e:
        raise RuntimeError(f"no PostgreSQL on 127.0.0.1:5432 and the pgserver package is missing ({e})") from None
    folder = tempfile.mkdtemp(prefix="ac-pgserver-")
    server = pgserver.get_server(folder, cleanup_mode="delete")
    atexit.register(server.cleanup)
    return str(server.get_uri())


def server_url() -> str:
    """A URL to a server where the tests may create and drop databases (found once per process)."""
    global _server
    with _lock:
        if _server is None:
            wanted = os.environ.get("AUDIT_CONSOLE_TEST_PG")
            if wanted == "pgserver":  # the fresh machine's way, on purpose (and PostgreSQL 16)
                _server = _throwaway_pgserver()
            elif wanted:
                if not _reachable(wanted):
                    pytest.fail(f"AUDIT_CONSOLE_TEST_PG={wanted} cannot be reached")
                _server = wanted
            elif _reachable(_LOCAL):
                _server = _LOCAL
            else:
                try:
                    _server = _throwaway_pgserver()
                except Exception as e:  # noqa: BLE001 - one line, and the test fails
                    pytest.fail(f"cannot start PostgreSQL for the tests: {e}")
        return _server


def with_database(url: str, name: str) -> str:
    """``url`` pointed at database ``name`` (the path part of a libpq URL)."""
    head, _, rest = url.partition("://")
    netloc, _, path = rest.partition("/")
    query = path.partition("?")[2]
    return f"{head}://{netloc}/{quote(name)}" + (f"?{query}" if query else "")


def create_database(name: str | None = None) -> str:
    """A new empty database on the test server; returns its URL."""
    name = name or f"ac_test_{os.getpid()}_{next(_counter)}"
    base = server_url()
    _run(_execute(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    return with_database(base, name)


def drop_database(url: str) -> None:
    name = url.partition("://")[2].partition("/")[2].partition("?")[0]
    _run(_execute(server_url(), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    url = create_database()
    try:
        yield url
    finally:
        drop_database(url)


# -- a cluster of the test's own ------------------------------------------------------------------


def _bin_folder() -> Path:
    for found in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (found / "pg_ctl").exists():
            return found
    try:
        import pgserver
    except ImportError:
        pytest.fail("no initdb/pg_ctl found (Debian's postgresql package or the pgserver package)")
    return Path(pgserver.__file__).parent / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster of one test's own, in a temporary folder on a free port, for tests
    that stop, restart or cut off the server. As root, the server runs as the ``postgres`` user
    when there is one (initdb refuses root)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.bin = _bin_folder()
        self._user = "postgres" if os.geteuid() == 0 and _has_user("postgres") else None

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        return ["runuser", "-u", self._user, "--", *cmd] if self._user else cmd

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._user:
            shutil.chown(self.folder, self._user)
        subprocess.run(
            self._cmd("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.folder} -c fsync=off"
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "log"), "-o", opts, "-w", "start"),
            check=True,
            capture_output=True,
        )

    def stop(self, mode: str = "fast") -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"), check=False, capture_output=True
        )

    def restart(self) -> None:
        self.stop()
        self.start()


async def started_cluster(prefix: str, database: str) -> tuple[Cluster, str]:
    """A cluster of a fault case's own, started in a new temporary folder (not under the case's
    workdir, which may be closed to the server's user), holding an empty ``database``; returns
    the cluster and that database's URL. The caller stops it and removes ``cluster.folder``."""
    import asyncpg

    cluster = Cluster(Path(tempfile.mkdtemp(prefix=prefix)))
    await asyncio.to_thread(cluster.init)
    await asyncio.to_thread(cluster.start)
    admin = await asyncpg.connect(cluster.url, timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    return cluster, cluster.url.rsplit("/", 1)[0] + f"/{database}"


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@pytest.fixture
def pg_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A running cluster of this test's own (stopped and removed afterwards)."""
    folder = Path(tempfile.mkdtemp(prefix="ac-cluster-"))
    cluster = Cluster(folder)
    try:
        cluster.init()
        cluster.start()
    except subprocess.CalledProcessError as e:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.fail(f"cannot start a PostgreSQL cluster: {(e.stderr or b'').decode(errors='replace').strip()}")
    try:
        yield cluster
    finally:
        cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


_pg16: str | None = None


@pytest.fixture
def pg16_url() -> Iterator[str]:
    """A fresh database on a PostgreSQL 16 server (pgserver's, started once per process): the
    machine's server is 15, and both are supported."""
    global _pg16
    with _lock:
        if _pg16 is None:
            try:
                _pg16 = _throwaway_pgserver()
            except Exception as e:  # noqa: BLE001 - one line, and the test fails
                pytest.fail(f"cannot start PostgreSQL 16 for the tests: {e}")
    name = f"ac_test16_{os.getpid()}_{next(_counter)}"
    _run(_execute(_pg16, f'CREATE DATABASE "{name}"'))
    try:
        yield with_database(_pg16, name)
    finally:
        _run(_execute(_pg16, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
