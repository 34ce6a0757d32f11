"""The main screen's view remembered between runs (filter, bookmarks, pane layout, per store) and
filters saved by name: read from and written to the session file (``session`` holds the JSON
forms, ``session_state`` the file)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.ui import session, session_state
from console.ui.widgets.feed import FeedView
from console.ui.widgets.pending import PendingPane
from console.ui.widgets.sidebar import FilterSidebar

if TYPE_CHECKING:
    from console.ui.screens.main import MainScreen


class ViewMemory:
    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen
        self._saved_view: dict[str, Any] = {}
        #: The last session's filter was restored (its query text comes once its names are read).
        self.restored_filter = False

    def _store_key(self) -> str:
        return str(getattr(self.screen.store, "path", "") or "memory")

    def restore_filter(self) -> None:
        """The filter of the last session on this store (before the feed reads its first page)."""
        screen = self.screen
        self._saved_view = session.view_of(session_state.load(), self._store_key())
        flt = session.filter_from_json(self._saved_view.get("filter"), screen.clock())
        if flt is not None:
            screen.filter = flt  # its query text once its names are read (MainScreen.prepare)
            self.restored_filter = True

    def restore_view(self) -> None:
        """The rest of the last session's view: sidebar, bookmarks, pane sizes."""
        screen = self.screen
        view = self._saved_view
        if self.restored_filter:
            screen.query_one(FilterSidebar).show_filter(screen.filter, screen.query_text)
        screen.query_one(FeedView).bookmarks = session.bookmarks_from_json(view.get("bookmarks"))
        layout = session.Layout.from_json(view.get("layout"))
        if layout.sidebar is not None:
            screen.user_toggled_sidebar = True
            screen.query_one(FilterSidebar).set_class(not layout.sidebar, "-hidden")
        if layout.pending is not None:
            screen.user_toggled_pending = True
            screen.query_one(PendingPane).set_class(not layout.pending, "-hidden")
        if layout.sidebar_width is not None:
            screen.query_one(FilterSidebar).styles.width = layout.sidebar_width
        if layout.drawer_height is not None:
            screen.drawer_height = layout.drawer_height  # given to the drawer when it is built

    def save_view(self) -> None:
        screen = self.screen
        sidebar, pending = screen.query_one(FilterSidebar), screen.query_one(PendingPane)
        width = sidebar.styles.width.value if sidebar.styles.width else None
        layout = session.Layout(
            sidebar=not sidebar.has_class("-hidden") if screen.user_toggled_sidebar else None,
            pending=not pending.has_class("-hidden") if screen.user_toggled_pending else None,
            sidebar_width=int(width) if width else None,
            drawer_height=screen.drawer_height,
        )
        view = {
            "filter": session.filter_to_json(screen.filter, screen.clock()),
            "bookmarks": sorted([k, i] for k, i in screen.query_one(FeedView).bookmarks),
            "layout": layout.to_json(),
        }
        session_state.save(session.with_view(session_state.load(), self._store_key(), view))

    # -- saved filters ---------------------------------------------------------------------------

    def saved_filter_names(self) -> list[str]:
        return sorted(session.saved_filters(session_state.load()))

    def save_filter_as(self, name: str) -> None:
        name = "".join(ch for ch in name if ch not in "[]\\").strip()  # shown in the palette
        if not name:
            return
        data = session_state.load()
        saved = session.saved_filters(data)
        saved[name] = session.filter_to_json(self.screen.filter, self.screen.clock())
        session_state.save({**data, "saved_filters": saved})
        self.screen.console.notice(f"Filter saved as {name!r}.")

    async def use_saved_filter(self, name: str) -> None:
        screen = self.screen
        flt = session.filter_from_json(session.saved_filters(session_state.load()).get(name), screen.clock())
        if flt is None:
            screen.console.notice(f"No usable saved filter {name!r}.", severity="warning")
            return
        await screen.apply_filter(flt)

    def forget_saved_filter(self, name: str) -> None:
        data = session_state.load()
        saved = session.saved_filters(data)
        if saved.pop(name, None) is not None:
            session_state.save({**data, "saved_filters": saved})
            self.screen.console.notice(f"Saved filter {name!r} forgotten.")

    def ask_name_and_save(self) -> None:
        from console.ui.screens.name_prompt import NamePrompt

        def chosen(name: str | None) -> None:
            if name:
                self.save_filter_as(name)

        self.screen.app.push_screen(NamePrompt("Save the current filter as", self.screen.query_text), callback=chosen)
