"""The console in a real browser: Debian's Chromium, driven by Playwright, against a real
``audit-console serve`` process on the seeded store. What the screen shows is read from the
page's xterm.js terminal (tests/web/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.web.auth import hash_password

from .browser import SCREEN_JS, new_page, screen, wait_for, wait_for_line, wait_for_text
from .served import Served, serving

TITLE = "Audit Console"
PASSWORD = "a long web password"
OPERATOR = 176633885491343362


def _config(folder: Path, *lines: str) -> Path:
    path = folder / "config.toml"
    head = [f'operator_id = "{OPERATOR}"', "[web]", f'password_hash = "{hash_password(PASSWORD)}"']
    path.write_text("\n".join([*head, *lines]) + "\n")
    return path


@pytest.fixture(scope="module")
def served(web_store: Path, tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("serve")
    with serving("--db", str(web_store), "--config", str(_config(folder)), folder=folder) as running:
        yield running


def _logged_in(browser: Any, served: Served, **kwargs: Any) -> Any:
    """A new tab (a browser context of its own) logged in: with the printed link the first
    time, then with the password on the login page."""
    page = new_page(browser, **kwargs)
    if not served.link_spent:
        page.goto(served.link)
        served.link_spent = True
    else:
        page.goto(served.base + "/")
        assert page.url == served.base + "/login"
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
    wait_for_text(page, "MEMBER_BAN_ADD")
    page.focus(".xterm-helper-textarea")  # keys go to the terminal
    return page


def _search(page: Any, words: str) -> None:
    """``/``, the words, Enter: the feed shows the matching rows only (none by Hidden Ember)."""
    page.keyboard.press("/")
    wait_for_text(page, "esc Close search")  # keys typed before the bar has the focus go to the feed
    page.keyboard.type(words)
    wait_for_line(page, "▊", words)  # in the bar, not taken as keys by the feed
    page.keyboard.press("Enter")
    wait_for_text(page, "esc Close search", gone=True)  # the bar closed: keys go to the feed again
    wait_for_text(page, "Hidden Ember", gone=True)


def test_log_in_browse_filter_and_download_an_export(browser: Any, served: Served) -> None:
    page = _logged_in(browser, served)
    assert page.url == served.base + "/"  # the token left the address bar
    assert page.title() == TITLE
    # A single-user store: the tab says whom it acts as.
    # The notice (wrapped in its toast, which goes after a while) and the header name the operator.
    wait_for_text(page, "In a browser: acting as the configured")
    wait_for(
        page,
        f"""() => {{ const shown = ({SCREEN_JS})();
            return shown.includes("In a browser: acting as the configured")
                && shown.split("{OPERATOR}").length === 3; }}""",
        what="no notice naming the operator",
    )

    page.keyboard.press("Enter")
    wait_for_text(page, "─ Details ─")  # the drawer explains the row under the cursor
    assert "Reason link" in screen(page)
    page.keyboard.press("Escape")

    _search(page, "retitle")
    assert "retitle" in screen(page)

    page.keyboard.press("e")
    wait_for_text(page, "Export")
    wait_for_text(page, "the current filter")
    with page.expect_download() as download:
        page.keyboard.press("Enter")  # the Export button has the focus
    csv = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename.endswith(".csv")
    lines = csv.strip().splitlines()
    assert lines[0].startswith('"format_version","kind","id"')
    # The filter's one row (the word "retitle"; "retitle2" is another word), nothing else.
    assert len(lines) == 2, csv
    assert '"MEMBER_BAN_ADD"' in lines[1]
    assert "retitle" in lines[1]

    # A smaller window: the terminal gets fewer columns and the console lays itself out again
    # (the right-hand pane's top border ends in the new last column).
    before = page.evaluate("() => window.__terminal.cols")
    page.set_viewport_size({"width": 760, "height": 500})
    wait_for(
        page,
        """cols => { const t = window.__terminal; if (t.cols >= cols) return false;
           return [1, 2, 3].some(i => { const row = t.buffer.active.getLine(i).translateToString(true, 0, t.cols);
                                        return row.length === t.cols && row.endsWith("╮"); }); }""",
        before,
        what="no pane's border at the new width",
    )


def test_hostile_text_changes_no_title_clipboard_or_link(browser: Any, served: Served) -> None:
    page = _logged_in(browser, served, clipboard=True)
    page.evaluate("() => navigator.clipboard.writeText('the moderator’s own clipboard')")
    # Each escape is shown in the drawer as text, not obeyed.
    for word, shown_as in (
        ("retitle", r"\x1b]0;PWNED-TITLE\x07"),
        ("retitle2", r"\x1b]2;PWNED-TITLE2\x1b"),
        ("clip", r"\x1b]52;c;UFdORUQtQ0xJUA==\x07"),
        ("link", r"\x1b]8;;https://evil.example/"),
    ):
        _search(page, word)
        page.keyboard.press("Enter")
        wait_for_text(page, shown_as)
        page.keyboard.press("Escape")
        page.keyboard.press("c")  # clear the filter
        wait_for_text(page, "MEMBER_BAN_ADD")
    shown = screen(page)
    assert "PWNED" not in page.title()
    assert page.title() == TITLE
    assert page.evaluate("() => navigator.clipboard.readText()") == "the moderator’s own clipboard"
    # No hyperlink reached the terminal: xterm.js registered none for the link's text.
    links = page.evaluate("() => window.__terminal._core._oscLinkService._dataByLinkId.size")
    assert links == 0
    assert "\x1b" not in shown


def test_the_session_cap_closes_the_longest_idle_tab(
    browser: Any, web_store: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    config = _config(tmp_path, "max_sessions = 2")
    with serving("--db", str(web_store), "--config", str(config), folder=tmp_path) as capped:
        first = _logged_in(browser, capped)
        second = _logged_in(browser, capped)
        second.keyboard.press("s")  # the second is used; the first stays idle
        third = _logged_in(browser, capped)
        first.wait_for_selector("body.-closed")
        message = first.text_content(".closed-dialog .message") or ""
        assert "newer tab took its place" in message
        assert "at most 2" in message
        for page in (second, third):
            assert page.evaluate("() => document.body.classList.contains('-closed')") is False
        assert len(capped.tab_pids()) == 2
