"""What the "hostile" fault case found, pinned by a test that failed before its fix.

A query typed or pasted into the search bar (a moderator searching for the text of a hostile
   reason) was shown as Textual markup in the sidebar's "query:" line and in the feed's border
   title: ``[@click=app.…]`` there became a live link that a click ran.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from console.model.filters import Filter
from console.model.snowflake import from_ms
from console.store import Store
from console.ui.app import ConsoleApp

QUERY = '"[@click=app.hz_count]clickme[/]" \x1b]52;c;SFpDTElQ\x07 \u202eevil'


class CountingApp(ConsoleApp):
    CSS_PATH = str(Path(__import__("console.ui.app").ui.app.__file__).with_name("app.tcss"))
    ran = 0

    def action_hz_count(self) -> None:
        self.ran += 1


async def _store(path: Path) -> Store:
    store = await Store.open(path)
    now = int(time.time() * 1000)
    await store.add_entries(
        [
            {
                "id": str(from_ms(now)),
                "action_type": 22,
                "user_id": "176633885491343362",
                "target_id": "176633885491343363",
                "reason": "clickme",
            }
        ],
        source="gateway",
        guild_id=1,
    )
    return store


def _drawn(app: Any) -> tuple[str, list[str]]:
    """All text on screen, and every click action any drawn cell carries."""
    text, actions = [], []
    for strip in app.screen._compositor.render_strips():
        for seg in strip:
            text.append(seg.text)
            meta = seg.style.meta if seg.style else {}
            if "@click" in (meta or {}):
                actions.append(str(meta["@click"]))
    return "".join(text), actions


async def test_a_searched_query_is_shown_literally_and_carries_no_action(tmp_path: Path) -> None:
    store = await _store(tmp_path / "a.db")
    app = CountingApp(store, label="t", remember=False)
    try:
        async with app.run_test(size=(200, 40)) as pilot:
            await pilot.pause(0.2)
            await app.main_screen.apply_filter(Filter(text="clickme"), QUERY)
            app.query_one("#sidebar").scroll_end(animate=False)  # the "query:" line is at its foot
            await pilot.pause(0.3)
            text, actions = _drawn(app)
            assert not [a for a in actions if "hz_count" in a], actions
            assert "query: " in text
            assert "[@click=app.hz_count]" in text
            assert not any(ch in text for ch in "\x1b\x07\u202e")  # and inert
            assert app.query_one("#feed").border_title is not None
            for y, line in enumerate(app.screen._compositor.render_strips()):
                plain = "".join(seg.text for seg in line)
                at = plain.find("clickme[/]")
                while at >= 0:
                    await pilot.click(offset=(at + 2, y))
                    at = plain.find("clickme[/]", at + 1)
            await pilot.pause(0.1)
            assert app.ran == 0
            assert app.is_running
    finally:
        await store.close()


def test_explain_json_escapes_invisible_and_c1_characters(tmp_path: Path, capsys: Any) -> None:
    """``explain --json`` printed role and member names raw: U+202E, U+200B and C1 controls
    reached the terminal (text output and exports already escaped them)."""
    import orjson

    from console.cli import main
    from console.sim import SimConfig, SimServer

    sim = SimServer(SimConfig(seed=3))
    g = sim.guild
    member = g.regular_ids()[0]
    for rid, role in g.roles.items():
        if rid != g.guild_id:
            role["name"] = "mod\u202eevil\u200b\x9b31m"
    state = tmp_path / "state.json"
    state.write_bytes(
        orjson.dumps(
            {
                "guild": g.guild_object(),
                "channels": g.channel_objects(),
                "members": [g.member_object(u) for u in g.members],
            }
        )
    )
    code = main(
        [
            "explain",
            "--db",
            str(tmp_path / "none.db"),
            "--state",
            str(state),
            "--guild",
            str(g.guild_id),
            "--member",
            str(member),
            "--permission",
            "MANAGE_ROLES",
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code in (0, 1)
    assert "mod\\u202eevil" in out  # the name is there, escaped
    assert not any(ch in out for ch in "\u202e\u200b\x9b"), out
    assert orjson.loads(out)  # still JSON
