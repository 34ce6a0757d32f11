"""The fault suite: drive the real console against the simulator under faults, print figures.

Not collected by pytest (no ``test_`` prefix); ``test_faults_short.py`` runs every case in its
short form in CI. The full run takes about 20 minutes on 2 cores::

    python tests/faults/run.py                  # every case, full length, Markdown table
    python tests/faults/run.py --short          # what CI runs, in about a minute
    python tests/faults/run.py --only gateway crash

Exit status 0 when every figure meets its target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

from faultkit import CASES, Figure, load, table  # noqa: E402


async def run_cases(names: list[str], short: bool) -> list[Figure]:
    figures: list[Figure] = []
    for name in names:
        case = load(name)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"faults-{name}-") as tmp:
            got = await case.run(short, Path(tmp))
        took = time.monotonic() - started
        print(f"# {name}: {len(got)} figures in {took:.0f} s", file=sys.stderr, flush=True)
        figures.extend(got)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the CI length of every case")
    parser.add_argument("--only", nargs="+", choices=CASES, metavar="CASE", help=", ".join(CASES))
    args = parser.parse_args(argv)
    figures = asyncio.run(run_cases(args.only or CASES, args.short))
    print(table(figures))
    return 0 if all(f.met for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
