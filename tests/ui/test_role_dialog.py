"""The grant/revoke dialog says whom and what it will act on before anything is submitted: a member
and a role each by name or id, an unknown id warned about, an ambiguous name refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from console.ui.app import ConsoleApp
from console.ui.screens.role_dialog import RoleDialog, RoleForm

from .test_pilot import settle


async def _dialog(pilot: Any, names: dict[int, str] | None = None) -> RoleDialog:
    app: ConsoleApp = pilot.app
    users = names if names is not None else app.store.names("user")
    dialog = RoleDialog(member_id=None, roles=lambda: app.store.names("role"), users=lambda: users, operator="Head Mod")
    app.push_screen(dialog)
    await settle(pilot)
    return dialog


async def _type(pilot: Any, dialog: RoleDialog, field: str, text: str) -> str:
    box = dialog.query_one(f"#{field}", Input)
    box.value = text
    await settle(pilot)
    return str(dialog.query_one(f"#{field}-who", Static).content)


async def test_member_and_role_by_name_or_id(
    make_app: Callable[..., ConsoleApp], seeded_db: Path, ids: dict[str, int]
) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dialog = await _dialog(pilot)
        member, name = ids["member"], app.store.name_of("user", ids["member"])
        assert name
        assert await _type(pilot, dialog, "member", str(member)) == f"→ {name} ({member})"
        assert await _type(pilot, dialog, "member", name) == f"→ {name} ({member})"
        role_id, role_name = next(iter(app.store.names("role").items()))
        assert await _type(pilot, dialog, "role", role_name) == f"→ @{role_name} ({role_id})"
        dialog.query_one("#reason", Input).value = "trusted helper"
        assert dialog.read() == (RoleForm(member, role_id, "grant", "trusted helper"), "")

        unknown = await _type(pilot, dialog, "member", "123456789012345678")
        assert "not a member the console has seen" in unknown
        assert dialog.query_one("#member-who").has_class("-unknown")
        assert (await _type(pilot, dialog, "member", "nobody at all")) == "No member named 'nobody at all'."
        partial = await _type(pilot, dialog, "member", name[:-1])
        assert partial.endswith("start with that: keep typing, → completes."), partial
        assert dialog.read()[0] is None


async def test_an_ambiguous_name_asks_for_the_id(make_app: Callable[..., ConsoleApp], seeded_db: Path) -> None:
    app = make_app(seeded_db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        dialog = await _dialog(pilot, {111111111111111111: "sam", 222222222222222222: "sam"})
        assert await _type(pilot, dialog, "member", "sam") == "2 members are named that: use the id."
        assert dialog.read() == (None, "2 members are named that: use the id.")
