"""The console's own commands in Textual's command palette."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from console.ui.app import ConsoleApp


class ConsoleCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        main = app.main_screen
        commands: list[tuple[str, object, str]] = [
            ("Filter by the actor under the cursor", main.action_filter_actor, "only what this person did"),
            ("Filter by the target under the cursor", main.action_filter_target, "only what was done to this"),
            ("Clear the filter", main.action_clear_filter, "show everything"),
            ("Member view of the row's person", main.action_member_of_row, "their story and timeline (u)"),
            ("Member view…", main.action_member_by_name, "a name or id: their story and timeline (U)"),
            ("Grant or revoke a role", main.action_role_dialog, "checked by the policy, then confirmed (g)"),
            ("Explain a member's permissions", main.action_explain, "why may or may not they do something (w)"),
            ("Report: last 7 days", partial(main.action_report, 7), "actions, denials, break-glass, alerts (R)"),
            ("Report: last 30 days", partial(main.action_report, 30), "the same over 30 days"),
            ("Toggle the filter sidebar", main.action_toggle_sidebar, "show or hide"),
            ("Toggle the pending role changes pane", main.action_toggle_pending, "show or hide"),
            ("Toggle details", main.action_toggle_drawer, "the detail drawer under the feed"),
            ("Export… (CSV)", partial(main.action_export, "csv"), "the filter, bookmarks or the row (e)"),
            ("Export… (JSON)", partial(main.action_export, "json"), "the filter, bookmarks or the row (e)"),
            ("Export… (JSON Lines)", partial(main.action_export, "jsonl"), "the filter, bookmarks or the row (e)"),
            ("Help", main.action_help, "keys and the query language"),
            ("Alerts", main.action_alerts, "every alert raised, newest first (!)"),
            ("Save the current filter as…", main.action_save_filter, "by name, for later"),
        ]
        for name in main.saved_filter_names():
            commands.append((f"Saved filter: {name}", partial(main.use_saved_filter, name), "apply it"))
            commands.append((f"Forget saved filter: {name}", partial(main.forget_saved_filter, name), "remove it"))
        for name in sorted(app.available_themes):
            if name.startswith("console-") or name == app.theme:
                commands.append((f"Theme: {name}", partial(app.switch_theme, name), "switch and remember"))
        return commands

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        app: ConsoleApp = self.app  # type: ignore[assignment]
        matcher = self.matcher(query)
        digits = "".join(ch for ch in query if ch.isdigit())
        if digits and len(digits) >= 5:
            record_id = int(digits)
            yield Hit(
                100.0,
                f"Jump to record {record_id}",
                partial(app.main_screen.jump_to, record_id),
                help="the entry, decision or role change with this id",
            )
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)  # type: ignore[arg-type]
