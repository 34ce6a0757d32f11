"""What the database fault case found, each pinned by a test that failed before its fix."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console import logs
from console.store import Store, StoreError
from console.store.schema import SCHEMA_VERSION

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from database_procs import _drop_dac_override  # noqa: E402


async def test_a_second_writer_through_a_symlink_is_refused(tmp_path: Path) -> None:
    """Found: the collector lock was named after the path given, so `collect --db link.db`
    (a symlink to the running collector's file) ran as a second writer on the same store."""
    db = tmp_path / "audit.db"
    link = tmp_path / "same-file.db"
    link.symlink_to(db.name)
    first = await Store.open(db)
    try:
        with pytest.raises(StoreError, match="in use by another Audit Console"):
            await Store.open(link)
    finally:
        await first.close()


def test_a_read_only_file_is_refused_when_opened_for_writing(tmp_path: Path) -> None:
    """Found: SQLite opens a read-only file read-only without a word; `backfill` then died on its
    first write with an internal error and a traceback. Now the open says why, in one line."""
    db = tmp_path / "audit.db"
    script = textwrap.dedent(f"""
        import asyncio
        from console.store import Store, StoreError
        async def main():
            s = await Store.open({str(db)!r})
            await s.close()
            import os; os.chmod({str(db)!r}, 0o444)
            try:
                s = await Store.open({str(db)!r})
            except StoreError as e:
                print("REFUSED", e)
                return
            try:
                await s.set_setting("k", "v")
                print("WROTE")
            except Exception as e:
                print("FAILED", type(e).__name__, e)
            finally:
                await s.close()
        asyncio.run(main())
    """)
    # As root, file modes apply too once the child has given up CAP_DAC_OVERRIDE.
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=HERE.parent.parent,
        preexec_fn=_drop_dac_override,
    )
    assert done.stdout.startswith("REFUSED"), done.stdout + done.stderr
    assert "read-only" in done.stdout
    assert "\n" not in done.stdout.strip()


@pytest.mark.parametrize("readonly", [True, False])
async def test_files_refused_from_their_header_get_no_sqlite_files_beside(tmp_path: Path, readonly: bool) -> None:
    """Found: a newer store or another program's WAL file was refused only after SQLite had
    opened it, which left a 32 KiB -shm file beside someone else's database."""
    other = tmp_path / "other.gpkg"
    with sqlite3.connect(other) as c:
        c.execute("PRAGMA application_id = 1196444487")
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("CREATE TABLE t (x)")
    c.close()
    newer = tmp_path / "newer.db"
    s = await Store.open(newer)
    await s.close()
    c = sqlite3.connect(newer)
    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    c.close()
    for path, needle in ((other, "not an Audit Console one"), (newer, "newer")):
        before = path.read_bytes()
        with pytest.raises(StoreError, match=needle):
            await Store.open(path, readonly=readonly)
        assert path.read_bytes() == before
        assert not Path(f"{path}-shm").exists()
        assert not Path(f"{path}-wal").exists()


async def test_an_empty_file_is_called_empty_by_readers(tmp_path: Path) -> None:
    """Found: `export` on a zero-length file said it "needs upgrading"; `verify` that it was not
    an Audit Console database. It is empty, and nothing is created beside it."""
    db = tmp_path / "audit.db"
    db.write_bytes(b"")
    with pytest.raises(StoreError, match="is empty"):
        await Store.open(db, readonly=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.db"]


def test_warnings_on_stderr_never_carry_a_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Found: `collect` on a locked store printed whole tracebacks on stderr (a failed guild-name
    save logged with its exception). The log file keeps them; stderr gets one line."""
    log_file = tmp_path / "console.log"
    logs.setup(log_file, stderr=True)
    try:
        try:
            raise RuntimeError("database x is locked by another program")
        except RuntimeError:
            logging.getLogger("console.ingest").exception("names failed:\nsecond line")
    finally:
        logs.setup(None)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "names failed: second line" in err
    assert "Traceback" in log_file.read_text()
    os.remove(log_file)
