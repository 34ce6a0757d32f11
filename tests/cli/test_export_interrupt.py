"""Ctrl+C during `audit-console export -o FILE`: exit 130, no traceback, and nothing left on disk —
neither the target nor its `.part` — whichever path renders it (this thread, or the helper
processes of a big export, which must not outlive the command)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.store import Store

G = 1_000_000_000_000_001
ROWS = 30_000


def _raw(i: int) -> dict[str, object]:
    entry_id = (1_700_000_000_000 - 1_420_070_400_000 + i * 1000) << 22
    return {
        "id": str(entry_id),
        "action_type": 24,
        "user_id": "2000000000000000",
        "target_id": str(3 * 10**15 + i),
        "reason": f"nickname sweep {i}",
        "changes": [{"key": "nick", "old_value": f"n{i}", "new_value": f"m{i}"}],
    }


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("interrupt") / "big.db"

    async def fill() -> None:
        store = await Store.open(path)
        try:
            for start in range(0, ROWS, 5000):
                await store.add_entries([_raw(i) for i in range(start, start + 5000)], source="backfill", guild_id=G)
        finally:
            await store.close()

    asyncio.run(fill())
    return path


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


@pytest.mark.parametrize("helpers", [False, True], ids=["this thread", "helper processes"])
def test_ctrl_c_leaves_nothing_behind(big_store: Path, tmp_path: Path, helpers: bool) -> None:
    target = tmp_path / "out.jsonl"
    part = tmp_path / "out.jsonl.part"
    # The helpers' threshold is lowered through the command's own module in the child process.
    code = (
        "import sys\n"
        "from console.store import export_workers\n"
        f"export_workers.MIN_ROWS = {1000 if helpers else 10**9}\n"
        "export_workers.CHUNK = 500\n"
        "from console.cli import main\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "export", "--db", str(big_store), "--format", "jsonl", "-o", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert part.exists(), "the export never started writing"
    helper_pids = _descendants(proc.pid) if helpers else []
    proc.send_signal(signal.SIGINT)  # what Ctrl+C delivers to the command
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not part.exists()
    assert not target.exists()
    if helpers:
        assert helper_pids, "no helper process was running"
        for pid in helper_pids:
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert list(tmp_path.iterdir()) == []
    assert os.path.getsize(big_store) > 0
