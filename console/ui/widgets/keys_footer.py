"""The footer: Textual's, rebuilt only when the keys it shows change.

Textual's ``Footer`` recomposes (a dozen ``FooterKey`` widgets mounted and styled again, a cost a
keypress can feel) on every bindings signal: each focus move, the app gaining focus, a screen pushed
or popped. Startup alone sends three, and moving between panes sends one per move, while what the
footer shows is usually the same. This one compares what it would show with what it shows and
rebuilds only on a difference, once per refresh however many signals arrived. The console mounts it
once the feed has drawn its records (building the keys would otherwise hold up the first frame), so
it shows the keys as soon as it is mounted: the bindings were signalled before it was there.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer

from console.ui.textual_internals import mark_footer_bindings_ready


class KeysFooter(Footer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Any, ...] | None = None
        self._scheduled = False

    def on_mount(self) -> None:
        # Footer's own on_mount (subscribing to the bindings signal) runs too: Textual calls
        # each class's handler.
        self.bindings_changed(self.screen)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        mark_footer_bindings_ready(self)  # Footer.compose shows nothing until then
        if not self.is_attached or screen is not self.screen:
            return
        # Textual's footer waits for the app to have focus. A browser tab's console has not
        # until its terminal is clicked or typed in, so the footer stayed empty on opening: the
        # keys are shown at once, and only later changes wait for focus.
        if not screen.app.app_focus and self._shown is not None:
            return
        if not self._scheduled:
            self._scheduled = True
            self.call_after_refresh(self._rebuild_if_changed)

    async def _rebuild_if_changed(self) -> None:
        self._scheduled = False
        if not self.is_attached:
            return
        shown = self._keys()
        if shown != self._shown:
            self._shown = shown
            await self.recompose()

    def _keys(self) -> tuple[Any, ...]:
        """Everything ``Footer.compose`` reads from the bindings, in its order."""
        app = self.app
        return tuple(
            (
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                binding.show,
                enabled,
                tooltip,
            )
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        ) + (self.show_command_palette, self.compact)
