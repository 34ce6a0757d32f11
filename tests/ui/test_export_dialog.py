"""The export dialog (``e``): format, file, what (filter, bookmarks, row under the cursor); the
export runs in a thread worker with a progress bar and is cancellable; the file matches what the
store export writes for the same records."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input, RadioButton

from console.store.export import export
from console.ui.app import ConsoleApp
from console.ui.screens.export_dialog import ExportDialog
from console.ui.screens.help import HelpScreen
from console.ui.widgets.feed import FeedView

from .test_pilot import first_audit_row, settle


async def _dialog(pilot, app: ConsoleApp) -> ExportDialog:  # noqa: ANN001
    await pilot.press("e")
    await settle(pilot)
    assert isinstance(app.screen, ExportDialog)
    return app.screen


async def _run(pilot, app: ConsoleApp, dialog: ExportDialog, target: Path) -> None:  # noqa: ANN001
    dialog.query_one("#path", Input).value = str(target)
    await pilot.pause()
    await pilot.click("#start")
    for _ in range(6000):  # 2 minutes and more: only a hung export runs out
        await pilot.pause(0.02)
        if not isinstance(app.screen, ExportDialog):
            break
    await app.workers.wait_for_complete()
    await settle(pilot)


async def test_e_exports_the_current_filter(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, tmp_path: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        dialog = await _dialog(pilot, app)
        # The default file is timestamped in the data folder and follows the format.
        assert Path(dialog.query_one("#path", Input).value).name.startswith("export-")
        await pilot.click("#fmt-jsonl")
        await pilot.pause()
        assert dialog.query_one("#path", Input).value.endswith(".jsonl")
        target = tmp_path / "feed.jsonl"
        shown: list[str] = []
        status = dialog._status
        dialog._status = lambda text, error=False: (shown.append(text), status(text, error=error))  # type: ignore[method-assign]
        await _run(pilot, app, dialog, target)
        assert not isinstance(app.screen, ExportDialog)
        expected = io.BytesIO()
        export(seeded_db, app.main_screen.filter, "jsonl", expected)
        assert target.read_bytes() == expected.getvalue()
        # The dialog said how far it had got, in records of the expected total.
        total = len(target.read_text().splitlines())
        assert f"Exporting to {target} … {total:,} of {total:,} records" in shown
        assert f"Exporting to {target} … 0 of {total:,} records" in shown
        kinds = {json.loads(line)["kind"] for line in target.read_text().splitlines()}
        assert {"audit", "decision"} <= kinds  # the seeded feed holds more than audit entries
        assert any(f"to {target}" in n.message for n in app._notifications)
        # The console goes on answering keys (a dialog that never finished closing froze it).
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_bookmarks_and_the_row_under_the_cursor(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, tmp_path: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        row = await first_audit_row(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert app.query_one(FeedView).bookmarks
        dialog = await _dialog(pilot, app)
        dialog.query_one("#what-bookmarks", RadioButton).value = True
        await pilot.pause()
        assert dialog.what == "bookmarks"
        target = tmp_path / "marks.csv"
        await _run(pilot, app, dialog, target)
        lines = target.read_text().splitlines()
        assert len(lines) == 2
        assert f'"{row.id}"' in lines[1]

        dialog = await _dialog(pilot, app)
        dialog.query_one("#what-current", RadioButton).value = True
        dialog.query_one("#fmt-json", RadioButton).value = True
        await pilot.pause()
        assert (dialog.what, dialog.fmt) == ("current", "json")
        target = tmp_path / "row.json"
        await _run(pilot, app, dialog, target)
        doc = json.loads(target.read_text())
        assert [r["id"] for r in doc["records"]] == [str(app.query_one(FeedView).current.id)]


async def test_cancel_removes_the_partial_file(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, tmp_path: Path
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        dialog = await _dialog(pilot, app)
        dialog.stop.set()  # Esc pressed before the first batch is written
        target = tmp_path / "cancelled.csv"
        await _run(pilot, app, dialog, target)
        assert not target.exists()
        assert not (tmp_path / "cancelled.csv.part").exists()
        assert any("cancelled" in n.message for n in app._notifications)
        # Esc on an idle dialog just closes it.
        await _dialog(pilot, app)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, ExportDialog)
