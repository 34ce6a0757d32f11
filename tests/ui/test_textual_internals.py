"""Each private Textual member the console relies on (console/ui/textual_internals.py), checked
against the pinned Textual: it is still there, with the shape we use, and our behaviour happens.
A failure here after a Textual upgrade names the one override to revisit."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.app import App
from textual.events import ScreenResume
from textual.filter import ANSIToTruecolor
from textual.screen import Screen
from textual.widgets import Footer

from console.ui.app import ConsoleApp
from console.ui.screens.main import MainScreen
from console.ui.textual_internals import (
    FirstResumeScreen,
    QuietCrashApp,
    mark_footer_bindings_ready,
    refresh_ansi_palette,
)
from console.ui.widgets.keys_footer import KeysFooter

from .test_pilot import settle


def _params(function: Callable[..., object]) -> list[str]:
    return list(inspect.signature(function).parameters)


# -- App._fatal_error, App._exception, App._exit_renderables, App._close_messages_no_wait ----------


def test_fatal_error_members_are_there() -> None:
    assert _params(App._fatal_error) == ["self"]
    assert _params(App._close_messages_no_wait) == ["self"]
    app = App[int]()
    assert app._exception is None
    assert app._exit_renderables == []
    # Textual's own handler prints a traceback with every frame's locals: ours replaces it.
    assert "show_locals=True" in inspect.getsource(App._fatal_error)


class _Crashing(QuietCrashApp):
    def crash_line(self, error: BaseException | None) -> str:
        return f"one line for {type(error).__name__}"

    def on_mount(self) -> None:
        secret = "canary-token-in-a-local"
        raise RuntimeError("boom " + secret)


async def test_a_crash_leaves_our_one_line_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """(The whole path, token redaction and the log file included, runs in a real process in
    test_crash_screen.py.)"""
    app = _Crashing()
    with pytest.raises(RuntimeError):
        async with app.run_test():
            pass
    assert isinstance(app._exception, RuntimeError)
    assert app._exit_renderables == []  # printed (Textual clears them as it prints them)
    printed = capsys.readouterr()
    assert printed.err == "one line for RuntimeError\n"
    assert "canary" not in printed.err + printed.out


# -- App._refresh_truecolor_filter -----------------------------------------------------------------


def test_refresh_truecolor_filter_maps_ansi_through_the_theme(tmp_path: Path) -> None:
    assert _params(App._refresh_truecolor_filter) == ["self", "theme"]
    app = ConsoleApp(open_store=lambda: None, label="x", remember=False)  # type: ignore[arg-type,return-value]
    app.theme = "console-light"
    refresh_ansi_palette(app)
    filters = [f for f in app._filters if isinstance(f, ANSIToTruecolor)]
    if not filters:
        pytest.skip("this terminal has no ANSI-to-truecolor filter")
    assert filters[0]._terminal_theme is app.ansi_theme


# -- Screen._on_screen_resume ----------------------------------------------------------------------


def test_screen_resume_restyles_only_when_asked() -> None:
    assert _params(Screen._on_screen_resume) == ["self", "event"]
    assert ScreenResume().refresh_styles is True
    assert "event.refresh_styles" in inspect.getsource(Screen._on_screen_resume)
    assert issubclass(MainScreen, FirstResumeScreen)


def test_the_first_resume_skips_the_restyle_and_later_ones_do_not() -> None:
    screen = FirstResumeScreen()
    first, second = ScreenResume(), ScreenResume()
    screen._on_screen_resume(first)
    screen._on_screen_resume(second)
    assert first.refresh_styles is False
    assert second.refresh_styles is True


# -- Footer._bindings_ready ------------------------------------------------------------------------


def test_footer_shows_no_keys_until_its_bindings_are_ready() -> None:
    footer = Footer()
    assert footer._bindings_ready is False
    assert list(footer.compose()) == []  # returns before it reads any binding
    assert "self._bindings_ready" in inspect.getsource(Footer.compose)
    mark_footer_bindings_ready(footer)
    assert footer._bindings_ready is True


async def test_the_late_footer_shows_the_keys(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer = app.query_one(KeysFooter)
        assert footer._bindings_ready is True
        assert footer.children  # the keys, mounted after the bindings were first signalled
