"""Detail-drawer tests: shared builders live in details_helpers.py (imported as a top-level module,
like store_helpers, because the suite runs with --import-mode=importlib)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
