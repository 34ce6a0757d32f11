"""The footer rebuilds only when the keys it shows change (Textual's rebuilds on every bindings
signal: three times at startup, once per focus move)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets._footer import FooterKey

from console.ui.app import ConsoleApp
from console.ui.widgets.keys_footer import KeysFooter

from .test_pilot import settle


def keys(app: ConsoleApp) -> list[FooterKey]:
    return list(app.query_one(KeysFooter).query(FooterKey))


async def test_footer_rebuilds_only_when_its_keys_change(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        before = keys(app)
        assert "Follow" in [k.description for k in before]
        # The same keys signalled again and again (what focus moves and app focus send): no rebuild.
        for _ in range(3):
            app.screen.refresh_bindings()
        await settle(pilot)
        assert keys(app) == before
        assert all(k.is_attached for k in before)

        # The search bar has its own keys: the footer shows them, then the feed's again.
        await pilot.press("slash")
        await settle(pilot)
        searching = [k.description for k in keys(app)]
        assert "Close search" in searching and "Follow" not in searching
        await pilot.press("escape")
        await settle(pilot)
        assert "Follow" in [k.description for k in keys(app)]
        assert not any(k.is_attached for k in before)  # rebuilt on a real change


async def test_footer_keys_wait_for_show_keys() -> None:
    """Building the keys is ~30 ms: the console's first frame goes out without them."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding

    class Small(App[None]):
        BINDINGS = [Binding("x", "bell", "Ring")]

        def compose(self) -> ComposeResult:
            yield KeysFooter()

    app = Small()
    async with app.run_test(size=(60, 5)) as pilot:
        await pilot.pause(0.1)
        app.screen.refresh_bindings()
        await pilot.pause(0.1)
        assert keys(app) == []  # type: ignore[arg-type]
        app.query_one(KeysFooter).show_keys()
        await pilot.pause(0.1)
        assert "Ring" in [k.description for k in keys(app)]  # type: ignore[arg-type]
