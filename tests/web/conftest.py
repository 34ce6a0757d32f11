"""The web tests' store: the UI tests' seeded store (hostile names and reasons included), plus
entries whose reasons try a title change, a clipboard write and a hyperlink, made once per
session."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ui.seed import FROZEN_MS, seed_store

from console.model.snowflake import from_ms
from console.store import Store

from .browser import ARGS, chromium_path, unavailable

#: Reasons that, reaching a terminal emulator as themselves, would retitle the tab, write the
#: clipboard and draw a link.
TRICKS = {
    "title": "retitle \x1b]0;PWNED-TITLE\x07 done",
    "title_st": "retitle2 \x1b]2;PWNED-TITLE2\x1b\\ done",
    "clipboard": "clip \x1b]52;c;UFdORUQtQ0xJUA==\x07 done",
    "link": "link \x1b]8;;https://evil.example/\x1b\\click-me\x1b]8;;\x1b\\ done",
}


async def _seed(path: Path) -> None:
    ids = await seed_store(path)
    store = await Store.open(path)
    try:
        entries = [
            {"id": str(from_ms(FROZEN_MS + 10 + n)), "action_type": 22, "user_id": "1", "target_id": "2"}
            | {"reason": text}
            for n, text in enumerate(TRICKS.values())
        ]
        await store.add_entries(entries, source="gateway", guild_id=ids["guild"], received_at=FROZEN_MS)
    finally:
        await store.close()


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web") / "audit.db"
    asyncio.run(_seed(path))
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    problem = unavailable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"the browser tests must run in CI: {problem}")
        pytest.skip(f"{problem}: `apt-get install chromium` and `pip install -e '.[test]'` enable the browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
        try:
            yield launched
        finally:
            launched.close()
