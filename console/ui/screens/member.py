"""The member view (``u`` on a row, ``U`` for a name or id, the palette's "Member view…"): a person's
whole story on one screen — who they are (names over time, roles, standing as the log shows it),
counts by action, then ONE timeline of everything involving them, read from the store like the
feed (the same widget over ``Filter.member_ids``), each row opening the same detail drawer.

Which person ``u`` opens: a row naming one person opens them; a row naming two (an entry's actor
and a member it was done to, a role change's requester and member) asks with a tiny choice —
``a`` the actor, ``t`` the target, the keys that filter by them on the main screen. The same
holds inside the view, so ``u`` walks from person to person; Esc goes back one.

What the first screen shows is read before the screen is pushed (who they are, the timeline's
first page and its names), so its first frame is whole; the counts (capped at ``VIEW_CAP``), the
notes about them and the footer come right after it.

Notes: ``n`` writes one on the selected row as on the feed (``console.ui.noting``), about this
member; rows with notes show ✎, the drawer lists a record's notes, and the newest notes on any
record involving them are listed above the timeline (none: no box).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from console.model.actions import target_kind
from console.model.filters import Filter
from console.model.member import Profile
from console.model.naming import person
from console.model.records import Decision, RoleChange
from console.model.sanitize import safe_text
from console.model.stored import StoredEntry
from console.reports import member
from console.store import StoreError
from console.ui.rows import names_shown, record_key
from console.ui.widgets.feed import FeedView, FirstPage, read_first_page

if TYPE_CHECKING:
    from textual.timer import Timer

    from console.ui.app import ConsoleApp
    from console.ui.widgets.drawer import DetailDrawer

#: While records about them arrive, their counts are read again at most this often (seconds): a
#: flood about the busiest actor would otherwise count at every refresh.
RECOUNT_S = 2.0


def people(record: Any) -> list[tuple[str, int]]:
    """The people a record names: ("actor", id) and ("target", id) where each is a person."""
    found: list[tuple[str, int]] = []
    if isinstance(record, StoredEntry):
        if record.actor_id is not None:
            found.append(("actor", record.actor_id))
        if record.target_id is not None and target_kind(record.action_type) == "user":
            found.append(("target", record.target_id))
    elif isinstance(record, Decision):
        found.append(("actor", record.actor_id))
    elif isinstance(record, RoleChange):
        if record.requested_by is not None:
            found.append(("actor", record.requested_by))
        found.append(("target", record.member_id))
    # The same person on both sides (AutoMod names the member twice; a nick set on oneself).
    return [p for n, p in enumerate(found) if p[1] not in {q[1] for q in found[:n]}]


async def open_member(app: ConsoleApp, guild_id: int, member_id: int) -> None:
    """Read the member's first screen, then show it over the current screen."""
    store = app.store
    flt = member.timeline_filter(guild_id, member_id)
    try:
        profile = await member.profile(store, guild_id, member_id, now_ms=app.clock())
        first = await read_first_page(store, flt)
        await store.load_names_for([n for record in first[1] for n in names_shown(record)])
    except StoreError as e:
        app.notify(f"Reading the store failed: {e}", title="Store error", severity="error", markup=False)
        return
    await app.push_screen(MemberScreen(app, profile, flt, first))


class PersonChoice(ModalScreen[int | None]):
    """Which of a row's two people: ``a`` the actor, ``t`` the target, Esc neither."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "pick('actor')", "Actor"),
        Binding("t", "pick('target')", "Target"),
        Binding("escape", "dismiss(None)", "Cancel"),
    ]

    def __init__(self, choices: list[tuple[str, int]], name_of: Any) -> None:
        super().__init__()
        self.choices = dict(choices)
        self.name_of = name_of

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Member view: whose?", "bold"))
            for side, ident in self.choices.items():
                label = person(self.name_of, ident, max_len=40) or str(ident)
                yield Static(Text.assemble((f"{side[0]}", "bold"), f"  the {side}: {label} · {ident}"))
            yield Static(Text("Esc: neither", "dim"))

    def action_pick(self, side: str) -> None:
        self.dismiss(self.choices.get(side))


class MemberScreen(Screen[None]):
    """One member's story over the main screen; Esc goes back. Its CSS (and the chooser's) is in
    app.tcss, parsed at start: a screen class's own CSS is parsed on its first use and then every
    widget of every screen is styled again, half a second here, after the key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="member-back"),
        Binding("u", "member_of_row", "Member of row", id="member-of-row"),
        Binding("U", "member_by_name", "Member…", id="member-by-name"),
        Binding("n", "note", "Note", show=False, id="member-note"),
        Binding("question_mark,f1", "help", "Help", show=False),
    ]

    def __init__(self, app: ConsoleApp, profile: Profile, flt: Filter, first_page: FirstPage) -> None:
        super().__init__()
        self.console = app
        self.profile = profile
        self.filter = flt
        self._first_page: FirstPage | None = first_page
        self.drawer: DetailDrawer | None = None
        self._counted_at = 0.0  # time.monotonic() of the last count begun
        self._recount: Timer | None = None

    def compose(self) -> ComposeResult:
        app = self.console
        (_, who), (_, standing), (_, counts) = member.sections(self.profile, app.store.name_of, app.clock())
        parts = [
            ("Who", who, "member-who"),
            ("Standing", standing, "member-standing"),
            ("Counts", counts, "member-counts"),
        ]
        if app.size.width < 100:  # two columns: who they are and their standing share one
            parts = [("Who · standing", who + standing, "member-who"), parts[2]]
        with Horizontal(id="member-head"):
            for title, lines, ident in parts:
                part = Static(Text("\n".join(lines)), id=ident, classes="member-part")
                part.border_title = title
                yield part
        notes = Static(id="member-notes", classes="member-part -none")
        notes.border_title = "Notes about them"
        yield notes
        feed = FeedView(app.store, app.main_screen.row_context(), id="member-feed")
        feed.border_title = Text(f"Timeline · {member.timeline_title(self.profile, app.store.name_of)}")
        yield feed
        yield Widget(id="footer-slot")

    async def on_mount(self) -> None:
        feed = self.query_one(FeedView)
        first, self._first_page = self._first_page, None
        await feed.load(self.filter, first_page=first)
        feed.focus()
        self.call_after_refresh(self._after_first_frame)

    def _after_first_frame(self) -> None:
        from console.ui.widgets.keys_footer import KeysFooter

        self.query_one("#footer-slot").mount(KeysFooter())
        self._count()
        self._read_notes()

    @work(group="member-counts", exclusive=True, exit_on_error=False)
    async def _count(self) -> None:
        self._recount = None
        self._counted_at = time.monotonic()
        try:
            self.profile = await member.counted(self.console.store, self.profile, cap=member.VIEW_CAP)
        except StoreError as e:
            self.notify(f"Counting failed: {e}", severity="error", markup=False)
            return
        self.query_one("#member-counts", Static).update(Text("\n".join(member.count_lines(self.profile))))

    @work(group="member-notes", exclusive=True, exit_on_error=False)
    async def _read_notes(self) -> None:
        """The notes about them, listed above the timeline (hidden when there are none)."""
        try:
            notes = await self.console.store.member_notes(self.profile.guild_id, self.profile.member_id)
        except StoreError as e:
            self.notify(f"Reading notes failed: {e}", severity="error", markup=False)
            return
        box = self.query_one("#member-notes", Static)
        box.border_title = f"Notes about them ({len(notes):,})"
        box.update(Text("\n".join(member.note_lines(notes, self.console.store.name_of))))
        box.set_class(not notes, "-none")

    async def follow_commits(self, inserted: list[int], changed: set[tuple[str, int]]) -> None:
        """New records committed (the main screen's live updates tell every screen): the timeline
        shows those involving them as the feed does (following, or counted while paused), and the
        counts are read again; a record changed in place (a note written) is shown again in the
        notes and the drawer."""
        feed = self.query_one(FeedView)
        shown = (feed.snapshot.total, feed.new_count)
        await feed.refresh_data(inserted, changed)
        if (feed.snapshot.total, feed.new_count) != shown and self._recount is None:
            # Records about them arrived: so did their counts (at most every RECOUNT_S).
            wait = max(0.0, self._counted_at + RECOUNT_S - time.monotonic())
            self._recount = self.set_timer(wait, self._count, name="member-recount")
        if not changed:
            return
        self._read_notes()
        current = feed.current
        drawer = self.drawer
        if current is not None and record_key(current) in changed and drawer is not None and drawer.has_class("-open"):
            await self._show(current)

    @on(FeedView.Changed)
    def _feed_changed(self, event: FeedView.Changed) -> None:
        feed = event.feed
        total = feed.snapshot.total
        event.feed.border_subtitle = f"≥ {total:,} records" if feed.approximate else f"{total:,} records"

    @on(FeedView.Selected)
    async def _selected(self, event: FeedView.Selected) -> None:
        await self._show(event.record)

    @on(FeedView.CursorMoved)
    async def _cursor_moved(self, event: FeedView.CursorMoved) -> None:
        if self.drawer is not None and self.drawer.has_class("-open"):
            await self._show(event.record)

    async def _show(self, record: Any) -> None:
        """The same drawer as the feed's, built under the timeline the first time."""
        if self.drawer is None:
            from console.ui.widgets.drawer import DetailDrawer

            self.drawer = DetailDrawer(id="member-drawer", name_of=self.console.store.name_of, clock=self.console.clock)
            # The console's zone (or UTC after ``z``), as the feed's drawer shows its times.
            self.drawer.tz = self.console.shown_zone()
            await self.mount(self.drawer, after=self.query_one(FeedView))
        await self.drawer.open_on(self.console.store, record)

    def action_help(self) -> None:
        self.console.main_screen.action_help()

    def action_back(self) -> None:
        """Esc: closes the drawer, then leaves the view."""
        if self.drawer is not None and self.drawer.has_class("-open"):
            self.drawer.remove_class("-open")
            self.query_one(FeedView).focus()
            return
        self.dismiss()

    async def action_member_of_row(self) -> None:
        await choose_member(self.console, self.query_one(FeedView).current, self.profile.guild_id)

    def action_member_by_name(self) -> None:
        ask_member(self.console, self.profile.guild_id)

    def action_note(self) -> None:
        """``n``: a note on the selected row, about this member."""
        from console.ui.noting import note_on_row

        note_on_row(self, self.console, self.query_one(FeedView).current, member_id=self.profile.member_id)


async def choose_member(app: ConsoleApp, record: Any, guild_id: int | None = None) -> None:
    """``u``: the member view of the row's person, asking which when it names two."""
    choices = people(record) if record is not None else []
    if not choices:
        app.bell()
        app.notify("This row names no member.", markup=False)
        return
    guild = getattr(record, "guild_id", None) or guild_id
    if guild is None:
        app.bell()
        return
    if len(choices) == 1:
        await open_member(app, guild, choices[0][1])
        return

    async def chosen(member_id: int | None) -> None:
        if member_id is not None:
            await open_member(app, guild, member_id)

    app.push_screen(PersonChoice(choices, app.store.name_of), chosen)


def ask_member(app: ConsoleApp, guild_id: int | None) -> None:
    """``U``: a name or id, resolved as the query language resolves ``actor:`` and ``target:``."""
    from console.model.query import QueryError, user_ids
    from console.ui.screens.name_prompt import NamePrompt

    main = app.main_screen

    async def given(text: str | None) -> None:
        if not text:
            return
        try:
            found = user_ids(text, main.filtering.resolve)
        except QueryError as e:
            app.notify(safe_text(str(e), 200), severity="warning", markup=False)
            return
        guild = guild_id or await _guild(app)
        if guild is None:
            app.notify("Which guild? The store holds none yet.", severity="warning", markup=False)
            return
        await open_member(app, guild, next(iter(found)))

    app.push_screen(
        NamePrompt("Member view: whom?", "a username (as actor: and target: take it) or a Discord id"), given
    )


async def _guild(app: ConsoleApp) -> int | None:
    """The guild a member is looked for in: the filter's only guild, the row's, else the store's
    first with a saved state."""
    main = app.main_screen
    if len(main.filter.guild_ids) == 1:
        return next(iter(main.filter.guild_ids))
    record = main.query_one(FeedView).current
    if getattr(record, "guild_id", None):
        return int(record.guild_id)
    guilds = await app.store.guild_ids_with_state()
    return guilds[0] if guilds else None
