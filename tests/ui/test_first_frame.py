"""Work deferred until the console has drawn (the launcher turns the garbage collector back on)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from console.model.filters import Filter
from console.store import Store
from console.store import timeline as tl
from console.ui.app import ConsoleApp
from console.ui.rows import RowContext, names_shown, record_row
from console.ui.widgets.feed import FeedView

from .seed import frozen_clock
from .test_pilot import settle


async def test_after_first_frame_hooks_run_once_after_the_feed_is_drawn(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    app = make_app(seeded_db)
    calls: list[int] = []
    app.after_first_frame.append(lambda: calls.append(app.query_one(FeedView).snapshot.total))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.pause(0.1)
        await pilot.press("down", "up")
        await settle(pilot)
    assert len(calls) == 1
    assert calls[0] > 0  # the feed had its records by then


async def test_names_shown_is_what_each_row_looks_up(seeded_db: Path) -> None:
    """The start reads only the names of rows.names_shown for its first page: it must be every
    name a row asks for, for every kind of record."""
    store = await Store.open(seeded_db)
    try:
        records = await tl.fetch(store.reader, await tl.page_refs(store.reader, Filter(), limit=10_000))
        kinds = set()
        for record in records:
            asked: set[tuple[str, int | None]] = set()

            def name_of(kind: str, ident: int | None, asked: set = asked) -> str | None:
                asked.add((kind, ident))
                return store.name_of(kind, ident)

            record_row(record, RowContext(name_of=name_of))
            assert asked <= set(names_shown(record)), record
            kinds.add(type(record).__name__)
        assert kinds == {"StoredEntry", "Decision", "RoleChange", "Gap"}
    finally:
        await store.close()


async def test_a_start_with_only_the_first_screens_names_shows_the_same_screen(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    """The first frame, taken as it is drawn, is the same whether every name was read before it
    or only those it shows; all of them are read after it."""
    screens = []
    for names in (True, False):
        app = make_app(seeded_db)
        app._open_store = lambda names=names: Store.open(seeded_db, clock=frozen_clock, names=names)
        first_frame_drawn = app.main_screen._first_frame_drawn

        def take_first_frame(app: ConsoleApp = app, drawn: Callable[[], None] = first_frame_drawn) -> None:
            screens.append(app.export_screenshot())
            drawn()

        app.main_screen._first_frame_drawn = take_first_frame  # type: ignore[method-assign]
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert app.store.names_complete
    assert len(screens) == 2
    assert screens[0] == screens[1]
