"""Grant or revoke a role (``g``): member and role (each by name or id), reason up to 512
characters. Under each field the dialog says whom or what it resolves to, so a mistyped id is seen
before it is submitted. The console acts as the configured operator; the policy decides first, and
an ALLOW becomes a pending change the pending pane follows until the console sees it applied."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from console.model.naming import NameOf, person
from console.model.sanitize import safe_text
from console.model.snowflake import parse as parse_id
from console.roles.reconciler import REASON_MAX


@dataclass(frozen=True, slots=True)
class RoleForm:
    member_id: int
    role_id: int
    op: str
    reason: str


class RoleDialog(ModalScreen[RoleForm | None]):
    """Returns the filled-in form (the app submits it and shows the policy's answer)."""

    DEFAULT_CSS = """
    RoleDialog { align: center middle; }
    RoleDialog > Vertical { width: 76; height: auto; border: round $primary; background: $surface; padding: 0 1; }
    RoleDialog Input { border: none; height: 1; padding: 0 1; background: $boost; }
    RoleDialog Input:focus { border: none; background: $primary 30%; }
    RoleDialog Label { color: $text-muted; margin-top: 1; }
    RoleDialog RadioSet { border: none; height: auto; layout: horizontal; }
    RoleDialog .who { color: $text-muted; height: 1; padding: 0 1; }
    RoleDialog .who.-unknown { color: $warning; }
    RoleDialog #problem { color: $error; height: auto; margin-top: 1; }
    RoleDialog Horizontal { height: auto; margin-top: 1; align-horizontal: right; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        *,
        member_id: int | None,
        roles: Callable[[], Mapping[int, str]],
        users: Callable[[], Mapping[int, str]] | None = None,
        operator: str,
        name_of: NameOf | None = None,
    ) -> None:
        super().__init__()
        self.member_id = member_id
        # id -> name, read when needed (names arrive from Discord while the dialog is open);
        # names come from Discord: shown sanitised, matched exactly.
        self.roles = roles
        self.users = users or dict
        self.operator = operator
        #: How the member found is named under the field (console.model.naming).
        self.name_of = name_of

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(("Grant or revoke a role", "bold"), (f"  as {self.operator}", "dim")))
            with RadioSet(id="op"):
                yield RadioButton("grant", value=True)
                yield RadioButton("revoke")
            yield Label("Member (name or id)")
            users = sorted({safe_text(n, 100) for n in self.users().values()})[:5000]
            yield Input(
                str(self.member_id or ""),
                id="member",
                placeholder="a name or a Discord user id",
                suggester=SuggestFromList(users),
            )
            yield Static("", id="member-who", classes="who")
            yield Label("Role (name or id)")
            names = sorted({safe_text(n, 100) for n in self.roles().values()})
            yield Input("", id="role", placeholder="e.g. Verified", suggester=SuggestFromList(names))
            yield Static("", id="role-who", classes="who")
            yield Label(f"Reason (up to {REASON_MAX} characters; goes to Discord's audit log)")
            yield Input("", id="reason", max_length=REASON_MAX)
            yield Static("", id="problem")
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Submit", id="submit", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#member" if not self.member_id else "#role", Input).focus()
        self._show_who("member")

    @on(Input.Changed, "#member")
    @on(Input.Changed, "#role")
    def _changed(self, event: Input.Changed) -> None:
        self._show_who(event.input.id or "")

    def _show_who(self, field: str) -> None:
        """Under the field: the name the id belongs to, or the id a name resolves to, or why not."""
        text = self.query_one(f"#{field}", Input).value.strip()
        who = self.query_one(f"#{field}-who", Static)
        if not text:
            who.update("")
            return
        names = self.users() if field == "member" else self.roles()
        what = "member" if field == "member" else "role"
        found, problem = _resolve(text, names, what, typing=True)
        if found is None:
            who.update(Text(problem))
        elif (name := names.get(found)) is not None:
            if field == "member" and self.name_of is not None:
                name = person(self.name_of, found) or name
            shown = safe_text(name, 60)
            who.update(Text(f"→ {'@' if field == 'role' else ''}{shown} ({found})"))
        else:
            who.update(Text(f"→ {found}: not a {what} the console has seen; check the id"))
        who.set_class(found is None or found not in names, "-unknown")

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    @on(Input.Submitted, "#reason")
    def _submit(self) -> None:
        form, problem = self.read()
        if form is None:
            self.query_one("#problem", Static).update(Text(problem))
            return
        self.dismiss(form)

    @on(Input.Submitted, "#member")
    @on(Input.Submitted, "#role")
    def _next(self) -> None:
        self.focus_next()

    def read(self) -> tuple[RoleForm | None, str]:
        member, problem = _resolve(self.query_one("#member", Input).value.strip(), self.users(), "member")
        if member is None:
            return None, problem
        role, problem = _resolve(self.query_one("#role", Input).value.strip(), self.roles(), "role")
        if role is None:
            return None, problem
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            return None, "Say why: the reason goes to Discord's audit log with the request id."
        op = "revoke" if self.query_one("#op", RadioSet).pressed_index == 1 else "grant"
        return RoleForm(member, role, op, reason), ""


def _resolve(text: str, names: Mapping[int, str], what: str, *, typing: bool = False) -> tuple[int | None, str]:
    """An id as typed, or the one id whose (sanitised) name is exactly ``text``. ``typing``: when
    nothing matches exactly, say how many names it could still become (one pass over the names:
    this runs on every keystroke)."""
    if not text:
        return None, f"Which {what}? A name or a Discord id."
    ident = parse_id(text)
    if ident is not None:
        return ident, ""
    matches: list[int] = []
    starts = 0
    for i, name in names.items():
        clean = safe_text(name, 100)
        if clean == text:
            matches.append(i)
        elif typing and clean.startswith(text):
            starts += 1
    if len(matches) == 1:
        return matches[0], ""
    if matches:
        return None, f"{len(matches)} {what}s are named that: use the id."
    if starts:
        return None, f"{starts} {what}{'s' if starts > 1 else ''} start with that: keep typing, → completes."
    return None, f"No {what} named {safe_text(text, 60)!r}."
