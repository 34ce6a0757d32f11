"""Acting from the main screen: explain a member's permissions, grant or revoke a role (the policy
decides first), retry or cancel a pending role change, and export (the policy's
``console.export`` decides first when the console is connected and acts as an operator)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from console.model.naming import person
from console.model.records import RoleChange
from console.model.sanitize import safe_text
from console.ui.widgets.feed import FeedView
from console.ui.widgets.pending import PendingPane

if TYPE_CHECKING:
    from console.ui.screens.main import MainScreen


class Acting:
    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    def _current(self) -> Any:
        return self.screen.query_one(FeedView).current

    def guild_for(self, record: Any) -> int | None:
        gid = getattr(record, "guild_id", None)
        if gid:
            return int(gid)
        ids = self.screen.console.state.guild_ids
        return next(iter(ids)) if len(ids) == 1 else None

    def member_under_cursor(self) -> int | None:
        """The row's target when it is a member we know, else whoever acted."""
        filtering = self.screen.filtering
        target = filtering.pick("target")
        if target is not None and self.screen.store.name_of("user", target) is not None:
            return target
        return filtering.pick("actor")

    def explain(self) -> None:
        from console.ui.screens.explain import ExplainScreen

        app, store = self.screen.console, self.screen.store
        record = self._current()
        services = app.ensure_services()
        gatekeeper = services.gatekeeper if services is not None else None
        app.push_screen(
            ExplainScreen(
                guild_id=self.guild_for(record),
                member_id=self.member_under_cursor(),
                name_of=store.name_of,
                gatekeeper=gatekeeper,
            )
        )

    def role_dialog(self) -> None:
        from console.ui.screens.role_dialog import RoleDialog

        app, store = self.screen.console, self.screen.store
        services = app.ensure_services()  # a moderator's console on a team store: requests only
        if services is None or services.roles is None:
            app.notice(
                "Role changes need a connection to Discord: `audit-console run` (or the demo).", severity="warning"
            )
            return
        if app.operator_id is None:
            app.notice(
                app.browse_only or "Set operator_id in the config: the console acts as that Discord user.",
                severity="warning",
            )
            return
        guild_id = self.guild_for(self._current())
        if guild_id is None:
            app.notice("Which guild? Move to a row of the guild first.", severity="warning")
            return
        operator = person(store.name_of, app.operator_id) or str(app.operator_id)

        async def submitted(form: Any) -> None:
            if form is not None:
                await self._request_role_change(guild_id, form)

        app.push_screen(
            RoleDialog(
                member_id=self.member_under_cursor(),
                roles=lambda: store.names("role"),
                users=lambda: store.names("user"),
                operator=safe_text(operator, 40),
                name_of=store.name_of,
            ),
            callback=submitted,
        )

    async def _request_role_change(self, guild_id: int, form: Any) -> None:
        from console.policy.gatekeeper import GateError

        app = self.screen.console
        try:
            done = await app.services.roles.request(
                guild_id, app.operator_id, form.member_id, form.role_id, form.op, reason=form.reason, source="TUI"
            )
        except (GateError, ValueError) as e:
            app.notice(f"Cannot decide: {e}", severity="error")
            return
        verdict = done.checked.verdict
        if done.change is None:
            app.notice(f"Denied: {verdict.denial()}", severity="error")
        else:
            app.notice(
                f"{form.op.capitalize()} allowed ({verdict.reason_code}): request {done.change.id} is pending "
                "until the console sees it applied."
            )
        await self.screen.live.refresh_pending()

    def _change_under_cursor(self) -> Any:
        pane = self.screen.query_one(PendingPane)
        if pane.has_focus and pane.selected is not None:
            return pane.selected
        record = self._current()
        if isinstance(record, RoleChange) and not record.final:
            return record
        return pane.selected

    async def retry_change(self) -> None:
        app = self.screen.console
        change = self._change_under_cursor()
        reconciler = app.services.reconciler if app.services is not None else None
        if change is None or reconciler is None or not await reconciler.retry_now(change.id):
            app.bell()
            return
        app.notice(f"Retrying request {change.id} now.")

    async def cancel_change(self) -> None:
        app = self.screen.console
        change = self._change_under_cursor()
        services = app.ensure_services()
        reconciler = services.reconciler if services is not None else None
        if change is None:
            app.bell()
            return
        if reconciler is not None:
            cancelled = await reconciler.cancel(change.id, app.operator_id)
        elif services is not None and services.roles is not None and app.operator_id is not None:
            cancelled = await self._cancel_request(change)  # carried out by a collector elsewhere
        else:
            cancelled = False
        if not cancelled:
            app.bell()
            return
        app.notice(f"Request {change.id} cancelled.")
        await self.screen.live.refresh_pending()

    async def _cancel_request(self, change: RoleChange) -> bool:
        """A moderator's console on a team store: the request's row is cancelled in the store
        (the server lets its login cancel only its own pending requests); the collector carrying
        it out drops it when it next reads the store."""
        from console.roles.reconciler import audit_channel_key
        from console.store.errors import StoreError

        app, store = self.screen.console, self.screen.store
        try:
            announce = await store.setting(audit_channel_key(change.guild_id)) is not None
            return await store.cancel_request(change.id, app.operator_id, app.clock(), announce=announce)
        except StoreError as e:
            app.notice(f"Request {change.id} not cancelled: {e}", severity="error")
            return False

    async def export_checked(self, fmt: str) -> None:
        """The export dialog, once the policy allowed it (when it is asked: connected, acting as
        an operator, in a known guild)."""
        app, store = self.screen.console, self.screen.store
        guild_id = self.guild_for(self._current())
        live = app.services is not None and app.services.roles is not None and not store.readonly
        if live and app.operator_id is not None and guild_id is not None:
            from console.policy.engine import Request
            from console.policy.gatekeeper import GateError

            try:
                checked = await app.services.gatekeeper.check(
                    guild_id, Request(app.operator_id, "console.export", "guild", guild_id), "TUI"
                )
            except GateError as e:
                app.notice(f"Cannot decide: {e}", severity="error")
                return
            if not checked.allowed:
                app.notice(f"Export denied: {checked.verdict.denial()}", severity="error")
                return
        self.open_export_dialog(fmt)

    def open_export_dialog(self, fmt: str) -> None:
        from console import paths
        from console.store.export import export_source
        from console.ui.screens.export_dialog import ExportDialog, ExportJob

        screen = self.screen
        feed = screen.query_one(FeedView)
        current = feed.current
        folder = paths.data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        screen.app.push_screen(
            ExportDialog(
                ExportJob(
                    source=export_source(screen.store),
                    filter=screen.filter,
                    folder=folder,
                    now_ms=screen.clock(),
                    bookmarks=tuple(sorted(i for _, i in feed.bookmarks)),
                    current=None if current is None else current.id,
                    fmt=fmt,
                )
            )
        )
