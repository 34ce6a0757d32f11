"""The feed: a Line-API virtual list over the store's timeline (never a DataTable, never a list
of every row).

Rows are addressed by position in the filter's order. A sparse index (the id of every 1000th
record, built in a worker) turns a position into ``anchor id + small offset``, so any depth costs
what the top does; pages of 100 records are cached (bounded) and fetched on demand. Commits are
coalesced by the app into one :meth:`FeedView.refresh_data` per frame. Following (default) keeps
the newest record at hand; moving away pauses it, counts what arrived ("N new") and drops nothing.

One module over ~500 lines on purpose: the index, the page cache, the strip cache and the cursor
are one widget's state, each read by the others on every frame (render_line, refresh_data,
jump_to_id); split, they would hand that state back and forth across modules.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterable
from math import ceil
from typing import Any, ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from console.model.filters import Filter
from console.store import AuditStore, Ref, StoreError
from console.ui.rows import RowContext, record_key, record_row

PAGE = 100
INDEX_EVERY = 1000
MAX_PAGES = 40  # the page cache is bounded: 4 000 records at most in memory
STRIPS_KEPT = 500  # rows' strips cached: a few screens' worth (more only lengthens the collector's full passes)
ROWS_PER_TURN = 8  # rows prepared per turn of the loop ahead of a live refresh
COUNT_CAP = 10_000  # counts past this are shown as "≥ 10,000" until the exact one arrives
_PLAIN = Style.null()  # what Text.render gives unstyled text
NOTE_MARK = "✎"  # the second cell of a row's lead: the record has notes


def _thumb(bar: ScrollBar) -> list[Segment]:
    """What ``bar`` draws, by Textual's own arithmetic (ScrollBar._render_bar's arguments)."""
    window = bar.window_size if bar.window_size < bar.window_virtual_size else 0
    look = ScrollBarRender.render_bar(
        size=bar.size.height,
        virtual_size=ceil(bar.window_virtual_size),
        window_size=ceil(window),
        position=bar.position,
        thickness=bar.thickness,
    )
    return list(look.segments)


class Snapshot(NamedTuple):
    """What the view shows: positions 0..total-1 in the filter's order. (A NamedTuple, like the
    other small values the start defines: a frozen dataclass compiles its methods at import, which
    the start would pay for; see :mod:`console.model`.)"""

    total: int
    #: (position, id) pairs, sorted by position; the first is (0, id of the first record).
    anchors: tuple[tuple[int, int], ...]


#: The first page of a filter: its refs and their records, in order.
FirstPage = tuple[list[Ref], list[Any]]


async def read_first_page(store: AuditStore, flt: Filter) -> FirstPage:
    first = await store.timeline_page(flt, limit=PAGE)
    return first, await store.timeline_records(first)


class FeedView(ScrollView, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "first", "Oldest/newest", show=False),
        Binding("end,f", "follow", "Follow", id="follow"),
        Binding("m", "bookmark", "Mark", id="bookmark"),
        Binding("[", "jump_bookmark(-1)", "Prev mark", show=False),
        Binding("]", "jump_bookmark(1)", "Next mark", show=False),
        Binding("enter", "select", "Details", id="details"),
    ]
    DEFAULT_CSS = """
    FeedView { height: 1fr; }
    FeedView > .feed--cursor { background: $accent 30%; }
    FeedView:focus > .feed--cursor { background: $accent 45%; }
    FeedView > .feed--bookmark { color: $accent; text-style: bold; }
    FeedView > .feed--note { color: $secondary; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"feed--cursor", "feed--bookmark", "feed--note"}

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)
    following: reactive[bool] = reactive(True)
    new_count: reactive[int] = reactive(0)

    class _RecordMessage(Message):
        def __init__(self, feed: FeedView, record: Any) -> None:
            super().__init__()
            self.feed = feed
            self.record = record

        @property
        def control(self) -> FeedView:
            return self.feed

    class Selected(_RecordMessage):
        """Enter on a row."""

    class CursorMoved(_RecordMessage):
        """The cursor is on another record (the open drawer follows it)."""

    class Changed(Message):
        """Total, follow state or "N new" changed (for the border and the badge)."""

        def __init__(self, feed: FeedView) -> None:
            super().__init__()
            self.feed = feed

        @property
        def control(self) -> FeedView:
            return self.feed

    def __init__(self, store: AuditStore, context: RowContext, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.context = context
        self.filter = Filter()
        self.snapshot = Snapshot(0, ())
        self.bookmarks: set[tuple[str, int]] = set()
        #: Records loaded that have notes (their rows show ✎) → their notes' ids, learnt as their
        #: pages are read.
        self.noted: dict[tuple[str, int], tuple[int, ...]] = {}
        self._notes_reads = 0  # reads of notes begun
        self._notes_read_at: dict[tuple[str, int], int] = {}  # record → the newest read applied
        #: Told when a bookmark is set or cleared (the app remembers them between runs).
        self.on_bookmarks: Callable[[], None] | None = None
        self._pages: OrderedDict[int, list[Any]] = OrderedDict()
        self._loading: set[int] = set()
        self._strips: dict[tuple[Any, ...], Strip] = {}
        self._generation = 0  # bumps on every reload: late page loads of an old one are dropped
        self._refreshing = asyncio.Lock()
        self._last_record: Any = None
        self._paint: tuple[Any, int] | None = None  # (style, width) while a paint is under way
        self._styles: dict[str, Style] = {}  # the rows' style strings, parsed
        #: True while the total shown is a capped count (at least that many).
        self.approximate = False

    # -- data -----------------------------------------------------------------------------------

    async def load(self, flt: Filter | None = None, *, first_page: FirstPage | None = None) -> None:
        """(Re)load from scratch for ``flt``: the first page now; the count and the sparse index
        in the background (a count over a million rows must not hold up the first frame).
        ``first_page``: already read for ``flt`` (:func:`read_first_page`); then nothing here
        waits, and the records are there for the very next frame."""
        if flt is not None:
            self.filter = flt
        self._generation += 1
        generation = self._generation
        if first_page is None:
            try:
                first_page = await read_first_page(self.store, self.filter)
            except StoreError as e:
                self._store_failed(e)
                return
            if generation != self._generation:
                return
        first, records = first_page
        # Until the count arrives: exact when the first page is short, else "at least this".
        provisional = len(records) if len(records) < PAGE else PAGE * 2
        self.approximate = len(records) == PAGE
        anchors = ((0, first[0].id),) if first else ()
        self.snapshot = Snapshot(provisional, anchors)
        self._pages.clear()
        self._loading.clear()
        self._strips.clear()
        if records:
            self._pages[0] = records
            self._learn_notes(records)
        self.new_count = 0
        self.following = True
        self._resize()
        self.cursor = 0 if self.filter.newest_first else max(0, provisional - 1)
        self.scroll_home(animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Changed(self))
        if len(records) == PAGE or not self.filter.newest_first:
            # Once the page is on screen: the count runs in SQLite's thread, on the core that the
            # frame being drawn would otherwise share with it.
            self.call_after_refresh(self._count_and_index, generation)

    @work(group="feed-index", exclusive=True, exit_on_error=False)
    async def _count_and_index(self, generation: int) -> None:
        try:
            # A capped count first (fast at any size: "≥ 10,000"), then the exact one.
            capped = await self.store.timeline_count(self.filter, cap=COUNT_CAP)
            if generation != self._generation:
                return
            self.approximate = capped >= COUNT_CAP
            self._set_total(capped)
            if not self.approximate:
                return
            total = await self.store.timeline_total(self.filter)
            self.approximate = False
            if generation != self._generation:
                return
            self._set_total(total)
            if total > INDEX_EVERY:
                await self._build_index(generation)
        except (StoreError, ValueError) as e:  # ValueError: the store closed meanwhile
            self._store_failed(e)

    def _set_total(self, total: int) -> None:
        snap = self.snapshot
        self.snapshot = Snapshot(total, snap.anchors)
        self._resize()
        if not self.filter.newest_first and self.following:
            # Oldest first: the newest is at the bottom; the page there is fetched on demand.
            self.cursor = max(0, total - 1)
            self.scroll_end(animate=False, immediate=True)
        self.refresh()
        self.post_message(self.Changed(self))

    def _store_failed(self, error: Exception) -> None:
        if self.store.closed:
            return  # closing stops the reads still running (Store.close): nothing failed
        self.app.notify(
            f"Reading the store failed: {error}", title="Store error", severity="error", timeout=20, markup=False
        )

    async def _build_index(self, generation: int) -> None:
        total, ids = await self.store.timeline_index(self.filter, INDEX_EVERY)
        if generation != self._generation or not ids:
            return
        anchors = tuple((i * INDEX_EVERY, anchor) for i, anchor in enumerate(ids))
        if self.filter.newest_first and self.snapshot.anchors and anchors[0][1] != self.snapshot.anchors[0][1]:
            # Records arrived while the index was built: rebase on our snapshot's first record.
            shift = await self.store.timeline_count(self.filter, newer_than=self.snapshot.anchors[0][1])
            if generation != self._generation:
                return
            anchors = ((0, self.snapshot.anchors[0][1]),) + tuple((p - shift, i) for p, i in anchors if p - shift > 0)
            total -= shift
        self.snapshot = Snapshot(total, anchors)
        self._resize()
        self.refresh()

    async def refresh_data(
        self, inserted_ids: list[int] | None = None, changed: Iterable[tuple[str, int]] = ()
    ) -> None:
        """New records were committed. Following: show them. Paused: count them, keep the view.
        ``changed`` records (kind, id) were changed in place: those on screen are read again."""
        # One at a time: two refreshes overlapping (a slow read, the rows prepared over several
        # turns of the loop) could land the older read last and leave the view behind the store
        # until the next commit, which may never come.
        async with self._refreshing:
            generation = self._generation
            snap = self.snapshot
            if not snap.anchors:
                await self.load()
                return
            try:
                if self.filter.newest_first:
                    await self._refresh_newest_first(generation, snap, inserted_ids)
                else:
                    await self._refresh_oldest_first(generation, snap)
                await self._reread(set(changed), generation)
            except StoreError as e:
                self._store_failed(e)

    async def _reread(self, changed: set[tuple[str, int]], generation: int) -> None:
        """Replace the loaded copies of ``changed`` records (a pending grant now confirmed, a
        count bumped) in place: the row is redrawn without reloading its page."""
        if not changed:
            return
        stale = [
            (page_no, i, key)
            for page_no, page in self._pages.items()
            for i, record in enumerate(page)
            if (key := record_key(record)) in changed
        ]
        if not stale:
            return
        fresh = await self.store.timeline_records([Ref(kind, ident) for _, _, (kind, ident) in stale])
        if generation != self._generation:
            return
        by_key = {record_key(r): r for r in fresh}
        await self._read_notes(fresh)
        for page_no, i, key in stale:
            page = self._pages.get(page_no)
            if page is not None and i < len(page) and record_key(page[i]) == key and key in by_key:
                page[i] = by_key[key]
        for cache_key in [k for k in self._strips if k[0] in changed]:
            del self._strips[cache_key]
        self.refresh()

    async def _refresh_newest_first(self, generation: int, snap: Snapshot, inserted_ids: list[int] | None) -> None:
        top = snap.anchors[0][1]
        low = min(inserted_ids) if inserted_ids else top + 1
        in_middle = low < top
        base = (0, top)  # (position, id) of a row older than every inserted record
        page = self._pages.get(0)
        if in_middle and self.following and page and page[-1].id < low:
            # A collector writes a batch as one transaction per guild, so live commits interleave
            # ids: a commit's oldest record often falls among the first page's rows, not above
            # them. Counted from a row below it, positions further down still just shift.
            base, in_middle = (len(page) - 1, page[-1].id), False
        if not self.following or in_middle:
            newer = await self.store.timeline_count(self.filter, newer_than=base[1]) - base[0]
            if generation != self._generation:
                return
            if self.following:  # a backfill filled in older records: positions below moved
                await self.load()
                return
            self.new_count = newer
            if in_middle:
                self._pages.clear()
                self._strips.clear()
                self.refresh()
            self.post_message(self.Changed(self))
            return
        # The common live case: records only near the top. Shift every position by how many
        # arrived rather than reloading: no count over the store, no index rebuild. The page is
        # read first and the count stops at its first record: counted first, a commit landing
        # between the two reads was on the page but not in the count, and the view stayed that
        # many records short for good (the next refresh counts from the page's first record).
        first = await self.store.timeline_page(self.filter, limit=PAGE)
        if generation != self._generation or not first:
            return
        newer = await self.store.timeline_count(self.filter, newer_than=base[1], up_to=first[0].id) - base[0]
        if generation != self._generation or newer <= 0:
            return
        records = await self.store.timeline_records(first)
        if generation != self._generation:
            return
        anchors = ((0, first[0].id),) + tuple((p + newer, i) for p, i in snap.anchors if i <= base[1])
        self.snapshot = Snapshot(snap.total + newer, anchors)
        # Pages are positional and must go; strips are keyed by record, so they stay valid.
        self._pages.clear()
        self._pages[0] = records
        self._learn_notes(records)
        if not await self._prepare_rows(generation):
            return
        self._resize()
        self.refresh()
        self.post_message(self.Changed(self))

    async def _refresh_oldest_first(self, generation: int, snap: Snapshot) -> None:
        # Oldest first is for reading history; a full count here is affordable.
        total = await self.store.timeline_count(self.filter)
        newer = total - snap.total
        if generation != self._generation or newer <= 0:
            return
        self.snapshot = Snapshot(total, snap.anchors)
        # The last (partial) page gains rows: drop it so it is fetched again.
        self._pages.pop(max(0, snap.total - 1) // PAGE, None)
        self._strips.clear()
        self._resize()
        if self.following:
            self.cursor = max(0, total - 1)
            self.scroll_end(animate=False, immediate=True)
        else:
            self.new_count += newer
        self.refresh()
        self.post_message(self.Changed(self))

    def record_at(self, position: int) -> Any:
        page = self._pages.get(position // PAGE)
        if page is None:
            self._request_page(position // PAGE)
            return None
        self._pages.move_to_end(position // PAGE)
        index = position % PAGE
        return page[index] if index < len(page) else None

    def _request_page(self, page_no: int) -> None:
        if page_no in self._loading or page_no * PAGE >= self.snapshot.total:
            return
        self._loading.add(page_no)
        self._load_page(page_no, self._generation)

    @work(group="feed-pages", exit_on_error=False)
    async def _load_page(self, page_no: int, generation: int) -> None:
        try:
            start = page_no * PAGE
            positions = [p for p, _ in self.snapshot.anchors]
            k = max(0, bisect.bisect_right(positions, start) - 1)
            if not self.snapshot.anchors:
                return
            anchor_pos, anchor_id = self.snapshot.anchors[k]
            refs = await self.store.timeline_page(self.filter, anchor=anchor_id, offset=start - anchor_pos, limit=PAGE)
            records = await self.store.timeline_records(refs)
        finally:
            self._loading.discard(page_no)
        if generation != self._generation:
            return
        self._pages[page_no] = records
        self._learn_notes(records)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        if self.cursor // PAGE == page_no:
            self._announce_cursor()

    @work(group="feed-notes", exit_on_error=False)
    async def _learn_notes(self, records: list[Any]) -> None:
        """Which of these records have notes (a read by id, after their rows are drawn)."""
        try:
            await self._read_notes(records)
        except (StoreError, ValueError):  # ValueError: the store closed meanwhile
            return

    async def _read_notes(self, records: list[Any]) -> set[tuple[str, int]]:
        """Read the notes of ``records`` again; the keys of those whose notes changed."""
        from console.model.notes import current

        keys = {record_key(r) for r in records if record_key(r)[0] != "gap"}
        if not keys:
            return set()
        self._notes_reads += 1
        read = self._notes_reads
        found = await self.store.notes(i for _, i in keys)
        # Reads overlap (a page's, a commit's): one that began before a newer read of the same
        # record says less than it, and must not undo what it learnt.
        keys = {k for k in keys if self._notes_read_at.get(k, 0) < read}
        if len(self._notes_read_at) > 20_000:  # bounded, as the page cache is
            self._notes_read_at.clear()
        self._notes_read_at.update(dict.fromkeys(keys, read))
        fresh = {k: tuple(n.id for n in current(found.get(k[1], ()))) for k in keys}
        moved = {k for k in keys if self.noted.get(k, ()) != fresh[k]}
        if moved:
            for k in moved:
                if fresh[k]:
                    self.noted[k] = fresh[k]
                else:
                    self.noted.pop(k, None)
            self._strips.clear()
            self.refresh()
        return moved

    async def notes_on_screen(self) -> set[tuple[str, int]]:
        """Read the notes of the rows on screen again (another process may have written one, and
        said only *that* it committed); the keys of the records whose notes changed."""
        top = self.scroll_offset.y
        on_screen = []
        for position in range(top, min(self.snapshot.total, top + self.size.height)):
            page = self._pages.get(position // PAGE)
            if page is not None and position % PAGE < len(page):
                on_screen.append(page[position % PAGE])
        return await self._read_notes(on_screen)

    # -- geometry and painting ------------------------------------------------------------------

    def _resize(self) -> None:
        size = Size(self.size.width, self.snapshot.total)
        if self.show_vertical_scrollbar and self.size.height < self.virtual_size.height <= size.height:
            # Grown, with the scrollbar shown before and after: only the scrollbar changes. The
            # reactive would lay the whole screen out again and repaint every widget, at every
            # live refresh (docs/performance.md, the team store).
            self.set_reactive(FeedView.virtual_size, size)
            self._grow_scrollbar(size.height)
            return
        self.virtual_size = size

    def _grow_scrollbar(self, total: int) -> None:
        """The scrollbar over ``total`` rows, repainted only if its thumb moves: past a few
        thousand rows the thumb is one cell and, while following, stays at the top, yet a repaint
        at every live refresh cost a third of the feed's frame."""
        bar = self.vertical_scrollbar
        before = _thumb(bar)
        bar.set_reactive(ScrollBar.window_virtual_size, total)
        if _thumb(bar) != before:
            bar.refresh()

    def on_resize(self) -> None:
        self._strips.clear()
        self._resize()
        # Opening the drawer shrinks the feed: keep the row being looked at in view.
        self.call_after_refresh(self._scroll_to_cursor)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def set_context(self, context: RowContext) -> None:
        self.context = context
        self._strips.clear()
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        # The widget's style and width once per paint, not once per row: rich_style walks the
        # ancestors' backgrounds on every call (a fifth of the first page's paint).
        self._paint = (self.rich_style, self.scrollable_content_region.width)
        try:
            return super().render_lines(crop)
        finally:
            self._paint = None

    def render_line(self, y: int) -> Strip:
        position = self.scroll_offset.y + y
        style, width = self._paint or (self.rich_style, self.scrollable_content_region.width)
        if position >= self.snapshot.total:
            if self.snapshot.total == 0 and y == 1:
                note = (
                    "  Nothing matches this filter (c clears it)."
                    if not self.filter.is_empty
                    else "  No records yet: entries appear here as Discord sends them."
                )
                text = Text(note, self.context.styles.get("muted", "dim"), no_wrap=True, end="")
                return Strip(list(text.render(self.app.console))).crop(0, width).extend_cell_length(width, style)
            return Strip.blank(width, style)
        record = self.record_at(position)
        if record is None:
            return Strip([], 0).extend_cell_length(width, style)
        return self._row_strip(position, record, style, width)

    def _row_strip(self, position: int, record: Any, style: Style, width: int) -> Strip:
        """The row of ``record`` at ``position``, from the strip cache or built into it."""
        key = record_key(record)
        is_cursor = position == self.cursor
        marked = key in self.bookmarks
        noted = key in self.noted
        cache_key = (key, width, is_cursor, marked, noted, self.has_focus)
        strip = self._strips.get(cache_key)
        if strip is None:
            bookmark = self.get_component_rich_style("feed--bookmark")
            lead: list[tuple[str, Style | None]] = [("★ ", bookmark) if marked else ("  ", None)]
            if noted:
                lead = [
                    ("★", bookmark) if marked else (" ", None),
                    (NOTE_MARK, self.get_component_rich_style("feed--note")),
                ]
            base = style
            if is_cursor:
                base = base + self.get_component_rich_style("feed--cursor")
            segments = self._segments([*lead, *record_row(record, self.context).parts])
            strip = Strip(segments).crop(0, width).apply_style(base)
            strip = strip.extend_cell_length(width, base)
            if len(self._strips) >= STRIPS_KEPT:
                # The oldest half goes: under a flood every row is new, and clearing all of them
                # would throw away the rows just prepared for the next frame.
                for old in list(itertools.islice(self._strips, STRIPS_KEPT // 2)):
                    del self._strips[old]
            self._strips[cache_key] = strip
        return strip

    async def _prepare_rows(self, generation: int) -> bool:
        """Build the strips of the rows the next frame shows, a few rows per turn of the loop,
        before the refresh that shows them: under a flood every row on screen is new at each
        refresh, and built inside the frame they held the loop for the whole screen at once
        (docs/performance.md, the team store). False if a reload overtook this one."""
        style, width = self.rich_style, self.scrollable_content_region.width
        top = self.scroll_offset.y
        for n, position in enumerate(range(top, min(top + self.size.height, self.snapshot.total))):
            if n and not n % ROWS_PER_TURN:
                await asyncio.sleep(0)
                if generation != self._generation:
                    return False
            page = self._pages.get(position // PAGE)
            if page is not None and position % PAGE < len(page):
                self._row_strip(position, page[position % PAGE], style, width)
        return True

    def _segments(self, parts: Iterable[tuple[str, str | Style | None]]) -> list[Segment]:
        """A row's parts as segments, as ``Text.render`` would make them: unstyled neighbours
        joined, each styled part on its own."""
        segments: list[Segment] = []
        plain = ""
        for text, style in parts:
            if style is None:
                plain += text
                continue
            if plain:
                segments.append(Segment(plain, _PLAIN))
                plain = ""
            if isinstance(style, str):
                parsed = self._styles.get(style)
                if parsed is None:
                    parsed = self._styles[style] = self.app.console.get_style(style)
                style = parsed
            segments.append(Segment(text, style))
        if plain:
            segments.append(Segment(plain, _PLAIN))
        return segments

    # -- cursor and follow ----------------------------------------------------------------------

    @property
    def current(self) -> Any:
        return self.record_at(self.cursor) if self.snapshot.total else None

    def _newest_position(self) -> int:
        return 0 if self.filter.newest_first else max(0, self.snapshot.total - 1)

    def watch_cursor(self, old: int, new: int) -> None:
        self._refresh_position(old)
        self._refresh_position(new)
        self._announce_cursor()

    def _refresh_position(self, position: int) -> None:
        y = position - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    def _announce_cursor(self) -> None:
        record = self.current
        if record is not None and record is not self._last_record:
            self._last_record = record
            self.post_message(self.CursorMoved(self, record))

    def _move_to(self, position: int) -> None:
        if not self.snapshot.total:
            return
        position = max(0, min(self.snapshot.total - 1, position))
        self.cursor = position
        self._scroll_to_cursor()
        following = position == self._newest_position()
        if following != self.following:
            self.following = following
            if following:
                self.call_later(self._resume)
            self.post_message(self.Changed(self))

    def _scroll_to_cursor(self) -> None:
        top = self.scroll_offset.y
        height = max(1, self.scrollable_content_region.height)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self._move_to(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self._move_to(self.cursor + delta * max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """Home: the top of the list (the newest when newest-first)."""
        self._move_to(0)

    def action_follow(self) -> None:
        """End / f: back to the newest record, and keep following."""
        self._move_to(self._newest_position())
        if not self.following or self.new_count:
            self.following = True
            self.call_later(self._resume)

    async def _resume(self) -> None:
        """Following again: show what arrived while paused (nothing was dropped)."""
        if self.new_count:
            await self.load()
        else:
            self._move_to(self._newest_position())

    def action_select(self) -> None:
        record = self.current
        if record is not None:
            self.post_message(self.Selected(self, record))

    def action_bookmark(self) -> None:
        record = self.current
        if record is None:
            return
        key = record_key(record)
        self.bookmarks ^= {key}
        self._strips.clear()
        self._refresh_position(self.cursor)
        self.post_message(self.Changed(self))
        if self.on_bookmarks is not None:
            self.on_bookmarks()

    async def action_jump_bookmark(self, direction: int) -> None:
        """``[`` / ``]``: the previous / next bookmarked record (in the current filter)."""
        if not self.bookmarks:
            self.app.bell()
            return
        current = self.current
        ids = sorted(i for _, i in self.bookmarks)
        here = current.id if current is not None else None
        desc = self.filter.newest_first
        # "next" goes down the list: to older ids when newest-first.
        if here is None:
            candidates = ids
        elif (direction > 0) == desc:
            candidates = [i for i in reversed(ids) if i < here]
        else:
            candidates = [i for i in ids if i > here]
        if not candidates:
            self.app.bell()
            return
        await self.jump_to_id(candidates[0])

    async def jump_to_id(self, record_id: int) -> bool:
        """Put the cursor on the record with ``record_id``, if the filter shows it."""
        top = self.snapshot.anchors[0][1] if self.snapshot.anchors else None
        if top is None:
            return False
        desc = self.filter.newest_first
        if desc and record_id > top:
            await self.load()
            top = self.snapshot.anchors[0][1] if self.snapshot.anchors else record_id
        # Records before it in the list's order (count's "newer_than" means "listed before").
        position = await self.store.timeline_count(self.filter, newer_than=record_id)
        if desc:
            position -= await self.store.timeline_count(self.filter, newer_than=top)
        refs = await self.store.timeline_page(self.filter, anchor=record_id, limit=1)
        if not refs or refs[0].id != record_id:
            return False
        self._move_to(position)
        return True
