"""What storing export rows at ingest would cost and give (not in CI; a design question, E1).

E1 asks exports for >= 0.7x a bare csv.writer / orjson loop over the stored columns. Rendering a
record in Python (decode, names, summary, typed diffs) is 15-40 us per row, which caps the
export at 0.2-0.5x even with two helper processes. The alternative is rendering each entry once,
at ingest, and exporting the stored lines. This measures that alternative on the fixture's
first ROWS entries, in one run: the render cost ingest would pay per row, the bytes per row
the store would grow by, and the export rate from stored lines, beside the two bare floors.

    python tests/bench/bench_export_precompute.py --db /tmp/bench-1m.db [--rows 100000]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from console.model import export_format as fmt_  # noqa: E402
from console.store import export as ex  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a fixture built by bench_store.py")
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args(argv)
    src = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    rows = src.execute(f"SELECT {ex.COLUMNS} FROM audit_entries ORDER BY id LIMIT ?", (args.rows,)).fetchall()
    record = fmt_.AuditRecords(ex.load_names(src)).record
    src.close()
    n = len(rows)

    def rendered(encode: object) -> tuple[list[bytes], float]:
        started = time.perf_counter()
        out = [
            encode([record(orjson.loads(raw), gid, recv, source, rev)])  # type: ignore[operator]
            for _id, gid, recv, source, rev, raw in rows
        ]
        return out, (time.perf_counter() - started) / n

    jsonl, jsonl_us = rendered(ex.encoder("jsonl"))
    csv_lines, csv_us = rendered(ex.encoder("csv"))
    print(f"{n:,} entries")
    print(f"render per row (what ingest would pay): JSONL {jsonl_us * 1e6:.1f} us, CSV {csv_us * 1e6:.1f} us")
    print(
        f"bytes per row: stored raw JSON {sum(len(r[5]) for r in rows) / n:.0f}, "
        f"JSONL line {sum(map(len, jsonl)) / n:.0f}, CSV line {sum(map(len, csv_lines)) / n:.0f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.db"
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE lines (id INTEGER PRIMARY KEY, jsonl BLOB, csv BLOB)")
        db.executemany(
            "INSERT INTO lines VALUES (?, ?, ?)", [(r[0], j, c) for r, j, c in zip(rows, jsonl, csv_lines, strict=True)]
        )
        db.commit()
        db.execute("VACUUM")
        print(f"the stored lines (both formats): {path.stat().st_size / n:.0f} bytes per row")
        for column in ("jsonl", "csv"):
            with open(os.devnull, "wb") as sink:
                started = time.perf_counter()
                cur = db.execute(f"SELECT {column} FROM lines ORDER BY id")
                while batch := cur.fetchmany(1000):
                    sink.write(b"".join(line for (line,) in batch))
                print(f"export from stored {column} lines: {n / (time.perf_counter() - started):,.0f} rows/s")
        db.close()
    with open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        text = io.TextIOWrapper(sink, encoding="utf-8", newline="")
        csv.writer(text, quoting=csv.QUOTE_ALL).writerows(rows)
        text.flush()
        text.detach()
        print(f"floor: bare csv.writer over the stored columns: {n / (time.perf_counter() - started):,.0f} rows/s")
        names = [c.strip() for c in ex.COLUMNS.split(",")]
        started = time.perf_counter()
        sink.write(
            b"".join(orjson.dumps(dict(zip(names, r, strict=True)), option=orjson.OPT_APPEND_NEWLINE) for r in rows)
        )
        print(f"floor: bare orjson loop over the stored columns: {n / (time.perf_counter() - started):,.0f} rows/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
