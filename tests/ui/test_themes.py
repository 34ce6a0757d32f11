"""Themes: every shipped theme loads and covers the console's variables; a broken user theme
gives one notice and the console falls back instead of failing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from console import paths
from console.ui.app import ConsoleApp
from console.ui.theming import SHIPPED_DIR, VARIABLE_DEFAULTS, load_themes, parse_theme


def test_shipped_themes_cover_every_variable() -> None:
    result = load_themes([SHIPPED_DIR])
    assert not result.failed
    names = {t.name for t in result.loaded}
    assert {"console-dark", "console-light", "console-high-contrast"} <= names
    for theme in result.loaded:
        missing = set(VARIABLE_DEFAULTS) - set(theme.variables)
        assert not missing, f"{theme.name} lacks {sorted(missing)}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('name = "x"\nprimary = "#12345"\n', "not a colour"),
        ('primary = "#123456"\n', "needs a name"),
        ('name = "x"\n', "needs a primary"),
        ('name = "x"\nprimary = "#123456"\nfoo = 1\n', "unknown key"),
        ("name = \n", "Invalid"),
        ('name = "x"\nprimary = "#123456"\n[variables]\ndanger = 5\n', "must be a string"),
    ],
)
def test_bad_theme_files_are_rejected_with_a_reason(tmp_path: Path, body: str, reason: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ValueError, match=reason):
        parse_theme(path)


async def test_broken_user_theme_gives_one_notice_and_a_fallback(
    make_app: Callable[..., ConsoleApp], seeded_db: Path
) -> None:
    user_dir = paths.config_dir() / "themes"
    user_dir.mkdir(parents=True)
    (user_dir / "mine.toml").write_text('name = "mine"\nprimary = "#ff00ff"\n[variables]\ndanger = "#ff0000"\n')
    (user_dir / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert "mine" in app.available_themes
        assert "broken" not in app.available_themes
        notices = [n for n in app._notifications if "broken.toml" in n.message]
        assert len(notices) == 1
        assert notices[0].severity == "warning"
        assert app.theme == "console-dark"
        app.switch_theme("mine")
        await pilot.pause(0.1)
        assert app.theme == "mine"
        assert app.row_styles["danger"].lower() == "#ff0000"
        # A theme that lacks the console's variables still works: defaults fill them in.
        assert app.row_styles["action-role"].lower() == VARIABLE_DEFAULTS["action-role"].lower()


async def test_no_theme_file_loads_textual_default_then(seeded_db: Path, tmp_path: Path) -> None:
    """Every theme file broken (the shipped ones included): the console starts in Textual's own
    default theme, fully styled, and says why."""
    from console.store import Store
    from console.ui.widgets.feed import FeedView

    (tmp_path / "broken.toml").write_text('name = "broken"\nprimary = "not-a-colour"\n')
    app = ConsoleApp(open_store=lambda: Store.open(seeded_db), label="x", remember=False, theme_dirs=[tmp_path])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert app.theme == "textual-dark"
        assert not app._css_has_errors
        assert [n.severity for n in app._notifications if "broken.toml" in n.message] == ["warning"]
        feed = app.query_one(FeedView)
        assert app.stylesheet._variables["primary"].lower() == app.current_theme.primary.lower()
        assert "".join(seg.text for seg in feed.render_line(0)).strip(), "the feed shows its rows"
