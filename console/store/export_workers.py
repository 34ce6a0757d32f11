"""Big exports of audit entries rendered by worker processes (docs/performance.md, E1).

Rendering a record — decoding the stored JSON, looking names up, the summary and the typed diffs
— is Python work, several times what reading the row costs, so one thread cannot keep up with
what SQLite and the file could take. Here the filter's rows are cut into contiguous id ranges of
about :data:`CHUNK` rows; each worker process renders whole ranges with exactly the sequential
path's code (:class:`export_format.AuditRecords`, :func:`export.encoder`) over its own read-only
connection, and the caller writes the bytes back in order. The output is byte-for-byte what the
sequential path writes.

A worker is ``python -m console.store.export_workers``, talking pickles over its stdin and
stdout. Not ``multiprocessing``: its spawn re-runs the caller's main module in every child, which
breaks any program without a ``__main__`` guard, and a fork would copy the running console's
locks mid-use. A worker gets the caller's environment without the bot token (it reads a file and
needs no secret), sits outside the terminal's process group (Ctrl+C goes to the caller, which
stops it), writes nothing to the terminal, and runs at a lower priority, so the console that
asked for the export stays responsive while the workers use the cores. At most ``2 × WORKERS`` ranges are in
flight, so memory stays flat whatever the row count.
"""

from __future__ import annotations

import gc
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

import orjson

from console.model.export_format import AuditRecords
from console.model.filters import Filter
from console.store import queries
from console.store.connection import describe
from console.store.errors import StoreError
from console.store.export_rows import COLUMNS, encoder, open_readonly, separator

#: Worker processes: one per core, up to two (measured: a third adds nothing on two cores, and
#: more would only compete with the console itself). One core: no workers, the caller renders.
WORKERS = min(2, os.cpu_count() or 1)
#: Rows per range (about 0.1 s of one worker's time: cancel is noticed within that).
CHUNK = 5000
#: Below this many rows, starting the processes (~0.2 s) costs more than it saves.
MIN_ROWS = 50_000
#: Worker niceness: the console's own loop keeps its priority over the export.
NICE = 10
#: The SQLite page cache of a worker and of the caller's connection during a worker export (KiB,
#: negative as PRAGMA cache_size wants): each reads every page once, in order, so a small cache
#: costs nothing and keeps memory small.
CACHE = -4000
#: Rows rendered at once inside a range.
_SLICE = 500


def worth_it(db: sqlite3.Connection, flt: Filter, total: int | None) -> bool:
    """Whether an export of ``flt`` is big enough for workers (``total``: its count, if known)."""
    if WORKERS < 2:
        return False
    if total is None:
        sql, args = queries.entry_page(flt, before=None, after=None, limit=MIN_ROWS, columns="1")
        (total,) = db.execute(f"SELECT count(*) FROM ({sql})", args).fetchone()
    return total >= MIN_ROWS


def ranges(db: sqlite3.Connection, flt: Filter, ceiling: int | None) -> Iterator[tuple[int | None, int]]:
    """Contiguous ``[low, high)`` id ranges of about :data:`CHUNK` matching entries each, in the
    filter's order, covering every id up to ``ceiling`` (the newest stored when the export began).
    ``low`` is None for the range that is open towards the oldest entries."""
    if ceiling is None:
        return
    top = ceiling + 1
    if flt.newest_first:
        high = top
        while True:
            sql, args = queries.entry_page(flt, before=high, after=None, limit=CHUNK, columns="id")
            ids = db.execute(sql, args).fetchall()
            if len(ids) < CHUNK:
                yield None, high
                return
            low = ids[-1][0]
            yield low, high
            high = low
    else:
        start: int | None = None
        while True:
            sql, args = queries.entry_page(
                flt, before=top, after=None if start is None else start - 1, limit=CHUNK, columns="id", order="ASC"
            )
            ids = db.execute(sql, args).fetchall()
            if len(ids) < CHUNK:
                yield start, top
                return
            end = ids[-1][0] + 1
            yield start, end
            start = end


#: Environment variables a worker must not inherit (it needs no secret to read a file).
_SECRET_ENV = ("DISCORD_TOKEN",)


class _Worker:
    """One worker process; it answers the ranges it was given in the order it got them."""

    def __init__(self, setup: bytes) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
        # The package as this process imported it, whether installed or run from a checkout.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console.store.export_workers"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            # Its own process group: Ctrl+C in the terminal reaches the caller, which stops the
            # workers, rather than killing them mid-range with a traceback on the user's screen.
            start_new_session=True,
        )
        try:
            self._send(setup)
        except StoreError:
            self.stop()  # gone already: reap it here, nobody else holds it
            raise

    def _send(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except OSError:
            raise _died() from None

    def submit(self, low: int | None, high: int) -> None:
        self._send(pickle.dumps((low, high)))

    def result(self) -> tuple[int, Any]:
        assert self.proc.stdout is not None
        try:
            reply = pickle.load(self.proc.stdout)
        except (EOFError, OSError, pickle.UnpicklingError):
            raise _died() from None
        if reply[0] != "ok":
            raise StoreError(str(reply[1]))
        return reply[1], reply[2]

    def stop(self) -> None:
        with suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class Unavailable(Exception):
    """No worker could render the first range: nothing was written, the caller renders instead."""


class _WorkerDied(StoreError):
    pass


def _died() -> StoreError:
    return _WorkerDied("an export worker process stopped unexpectedly; the export is incomplete")


def render(
    path: Path,
    flt: Filter,
    fmt: str,
    names: Mapping[tuple[str, int], str],
    notes: Mapping[int, list[dict[str, Any]]],
    ceiling: int | None,
    db: sqlite3.Connection,
    cancel: threading.Event | None,
    *,
    split: bool = False,
) -> Iterator[tuple[int, Any]]:
    """``(rows, bytes)`` for each range of the export, in order; with ``split``, ``(rows, (ids,
    ends, bytes))`` instead — each record's id and end offset — for a caller that interleaves
    other records.
    Raises StoreError, or :class:`Unavailable` (before anything is yielded) when the workers
    cannot run."""
    setup = pickle.dumps((str(path), flt, fmt, dict(names), dict(notes), split))
    workers: list[_Worker] = []
    yielded = False
    try:
        try:
            for _ in range(WORKERS):
                workers.append(_Worker(setup))
        except OSError as e:
            raise Unavailable(f"cannot start an export worker: {e}") from None
        todo = ranges(db, flt, ceiling)
        # Ranges go to the workers in turn, so the results come back in order by reading them in
        # the same turn; each worker queues up to two, so it never waits for the next one.
        order: deque[_Worker] = deque()
        turn = 0

        def fill() -> None:
            nonlocal turn
            while len(order) < 2 * WORKERS and (r := next(todo, None)) is not None:
                worker = workers[turn % WORKERS]
                turn += 1
                worker.submit(*r)
                order.append(worker)

        fill()
        while order and not (cancel is not None and cancel.is_set()):
            result = order.popleft().result()
            fill()  # before handing the bytes over, so the workers stay busy while they are written
            yielded = True
            yield result
    except _WorkerDied:
        if yielded:
            raise
        # Nothing written yet: a worker that cannot even start (no usable interpreter, a broken
        # environment) leaves the export to the caller's own thread.
        raise Unavailable("an export worker stopped before its first range") from None
    finally:
        for worker in workers:
            worker.stop()


# -- in the worker process ----------------------------------------------------------------------


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Read the setup, then render each requested range until stdin closes."""
    path, flt, fmt, names, notes, split = pickle.load(stdin)

    try:
        db = open_readonly(path)
        db.execute(f"PRAGMA cache_size = {CACHE}")
    except (StoreError, sqlite3.Error) as e:
        db = None
        failure = str(e) if isinstance(e, StoreError) else describe(e, Path(path))
    record, encode, loads = AuditRecords(names, notes).record, encoder(fmt), orjson.loads
    order = "DESC" if flt.newest_first else "ASC"
    sep = separator(fmt)
    while True:
        try:
            low, high = pickle.load(stdin)
        except EOFError:
            return
        if db is None:
            reply: tuple[Any, ...] = ("error", failure)
        else:
            sql, args = queries.entry_page(
                flt, before=high, after=None if low is None else low - 1, limit=-1, columns=COLUMNS, order=order
            )
            try:
                cur = db.execute(sql, args)
                if split:
                    # One record at a time, with its id and where it ends, so that the caller can
                    # merge other kinds in. One buffer, not a bytes object per record: orjson's
                    # small results each pin ~4 KB of heap while they live.
                    buf, ids, ends = bytearray(), list[int](), list[int]()
                    for i, gid, recv, src, rev, raw in cur:
                        if ids:
                            buf += sep
                        buf += encode([record(loads(raw), gid, recv, src, rev)])
                        ids.append(i)
                        ends.append(len(buf))
                    reply = ("ok", len(ids), (ids, ends, bytes(buf)))
                else:
                    parts, n = [], 0
                    # A slice at a time: a whole range's records at once would triple the memory.
                    while rows := cur.fetchmany(_SLICE):
                        parts.append(
                            encode([record(loads(raw), gid, recv, src, rev) for _id, gid, recv, src, rev, raw in rows])
                        )
                        n += len(rows)
                    reply = ("ok", n, sep.join(parts))
            except sqlite3.Error as e:
                reply = ("error", describe(e, Path(path)))
        pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller owns Ctrl+C (see _Worker)
    with suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(NICE)
    # Rendering allocates millions of short-lived, acyclic dicts and lists: with the default
    # threshold the cycle collector runs every 700 of them, for nothing.
    gc.set_threshold(50_000, 20, 20)
    _serve(sys.stdin.buffer, sys.stdout.buffer)
