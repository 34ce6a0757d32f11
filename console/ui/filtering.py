"""The main screen's filters and search: the sidebar's choices, ``a`` / ``t`` / ``c``, the search
bar's query (a filter, or a find query walked with ``n`` / ``N``) and the names it resolves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from console.model import members
from console.model.filters import Filter, narrow
from console.ui.widgets.feed import FeedView
from console.ui.widgets.sidebar import FilterSidebar

if TYPE_CHECKING:
    from console.ui.screens.main import MainScreen
    from console.ui.widgets.filter_choices import SidebarChoice
    from console.ui.widgets.search import SearchBar


class Filtering:
    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        #: The search bar's find query (``n`` / ``N``), within the filter.
        self.find_filter: Filter | None = None
        #: Built when first opened.
        self.built_search: SearchBar | None = None

    async def apply(self, flt: Filter, query_text: str | None = None) -> None:
        await self._use(flt, query_text, sidebar=True)

    async def _use(self, flt: Filter, query_text: str | None, *, sidebar: bool) -> None:
        """Show ``flt``: the feed, the activity and the remembered view; the sidebar too unless the
        change came from it."""
        screen = self.screen
        screen.filter = flt
        screen.query_text = screen.format(flt) if query_text is None else query_text
        if sidebar:
            screen.query_one(FilterSidebar).show_filter(flt, screen.query_text)
        screen.view_changed()
        await screen.query_one(FeedView).load(flt)
        screen.live.refresh_activity()

    async def sidebar_changed(self, c: SidebarChoice) -> None:
        screen = self.screen
        since = screen.clock() - c.range_ms if c.range_ms else None
        flt = screen.filter.with_(
            kinds=c.kinds,
            categories=c.categories,
            results=c.results,
            reason_codes=c.reason_codes,
            sources=c.sources,
            text=c.text,
            since_ms=since,
            newest_first=c.newest_first,
            # The sidebar's exclusions replace their fields (its text box shows the excluded
            # words too); those only the bar sets (actors, targets…) stay.
            exclude=screen.filter.exclude.with_(
                text=c.exclude.text,
                kinds=c.exclude.kinds,
                categories=c.exclude.categories,
                results=c.exclude.results,
                reason_codes=c.exclude.reason_codes,
                sources=c.exclude.sources,
            ),
        )
        screen.query_one(FeedView).set_context(screen.row_context())
        if flt != screen.filter:
            await self._use(flt, None, sidebar=False)

    def pick(self, attribute: str) -> int | None:
        """The actor (``"actor"``) or the target of the record under the cursor."""
        record = self.screen.query_one(FeedView).current
        if record is None:
            return None
        if attribute == "actor":
            return getattr(record, "actor_id", None) or getattr(record, "requested_by", None)
        value = getattr(record, "target_id", None) or getattr(record, "member_id", None)
        return value or getattr(record, "resource_id", None)

    async def only(self, attribute: str) -> None:
        """``a`` / ``t``: only what the actor under the cursor did, or what was done to its target."""
        who = self.pick(attribute)
        if who is None:
            self.screen.app.bell()
            return
        ids = frozenset({who})
        flt = self.screen.filter
        await self.apply(flt.with_(actor_ids=ids) if attribute == "actor" else flt.with_(target_ids=ids))

    async def clear(self) -> None:
        self.find_filter = None
        await self.apply(Filter(newest_first=self.screen.filter.newest_first), "")

    # -- the search bar --------------------------------------------------------------------------

    async def open_search(self) -> None:
        await (await self.search_bar()).open(self.screen.query_text)

    async def search_bar(self) -> SearchBar:
        """The search bar, built (above the footer) the first time ``/`` is pressed."""
        screen = self.screen
        if self.built_search is None:
            from console.ui.widgets.search import QuerySuggester, SearchBar

            self.built_search = SearchBar(QuerySuggester(self._known_users, self._known_roles), id="search")
            await screen.mount(self.built_search, before="#footer-slot")
        return self.built_search

    async def submitted(self, query: str, *, find: bool) -> None:
        screen = self.screen
        bar = await self.search_bar()
        from console.model.query import QueryError, parse

        try:
            parsed = parse(
                query,
                now_ms=screen.clock(),
                resolve=self.resolve,
                base=Filter(newest_first=screen.filter.newest_first),
            )
        except QueryError as e:
            bar.show_error(str(e), e.column)
            return
        if parsed.actor_role_ids:
            members = await self._members_with_roles(parsed.actor_role_ids)
            if not members:
                bar.show_error("role: nobody holds that role in the stored guild state", query.find("role:"))
                return
            actors = parsed.filter.actor_ids
            parsed = replace(parsed, filter=parsed.filter.with_(actor_ids=actors | members if actors else members))
        try:
            flt = parsed.with_people(
                await self._members_with_roles(parsed.excluded_role_ids) if parsed.excluded_role_ids else frozenset(),
                await self._bots() if parsed.bots is not None else frozenset(),
            )
        except QueryError as e:
            bar.show_error(str(e), e.column)
            return
        bar.show_error(None)
        bar.hide()
        screen.query_one(FeedView).focus()
        if find:
            self.find_filter = flt
            await self.find(1)
        else:
            self.find_filter = None
            await self.apply(flt, query.strip())

    async def find(self, direction: int) -> None:
        """The next (1) / previous (-1) record matching the find query, within the filter."""
        screen = self.screen
        if self.find_filter is None:
            screen.app.bell()
            return
        feed = screen.query_one(FeedView)
        here = feed.current
        combined = narrow(screen.filter, self.find_filter)  # the find query ANDs the filter
        down = direction > 0  # down the list
        older = down == screen.filter.newest_first
        probe = combined.with_(newest_first=older)
        anchor = None
        if here is not None:
            anchor = here.id - 1 if older else here.id + 1
        refs = await screen.store.timeline_page(probe, anchor=anchor, limit=1)
        if not refs or not await feed.jump_to_id(refs[0].id):
            screen.notify("No more matches.", markup=False)

    # -- names the query refers to ---------------------------------------------------------------

    def resolve(self, kind: str, text: str) -> list[int]:
        """The ids whose cached name of ``kind`` is ``text`` (ignoring case): the query
        language's names, and the member view's ``U``."""
        low = text.lower()
        return [i for i, n in self.screen.store.names(kind).items() if n.lower() == low]

    def _known_users(self) -> list[str]:
        return sorted(set(self.screen.store.names("user").values()))[:5000]

    def _known_roles(self) -> list[str]:
        return sorted(set(self.screen.store.names("role").values()))

    async def _members_with_roles(self, role_ids: frozenset[int]) -> frozenset[int]:
        return await self._members(lambda state: members.holding(state, role_ids))

    async def _bots(self) -> frozenset[int]:
        """The bot accounts among the members the stored guild state lists (``is:bot``)."""
        return await self._members(members.bots)

    async def _members(self, pick: Callable[[dict[str, Any]], set[int]]) -> frozenset[int]:
        store = self.screen.store
        found: set[int] = set()
        for gid in self.screen.filter.guild_ids or await store.guild_ids_with_state():
            found |= pick(await store.guild_state(gid) or {})
        return frozenset(found)
