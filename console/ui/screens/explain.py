"""Explain (``w``, "why"): why may or may not a member do something — a capability through the whole
policy, or one Discord permission — with the same path the CLI prints. A question, not an action:
it is not recorded (the operator's own ``policy.explain`` check is)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label, Static

from console.model.naming import person
from console.model.permissions import FLAGS
from console.model.sanitize import safe_text
from console.model.snowflake import parse as parse_id
from console.policy.document import BUILTIN_CAPABILITIES
from console.policy.explain import ExplainError, Explanation
from console.policy.gatekeeper import GateError


class ExplainScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ExplainScreen { align: center middle; }
    ExplainScreen > Vertical { width: 90%; max-width: 110; height: 85%; border: round $primary;
        background: $surface; padding: 0 1; }
    ExplainScreen Input { border: none; height: 1; padding: 0 1; background: $boost; }
    ExplainScreen Input:focus { border: none; background: $primary 30%; }
    ExplainScreen Label { color: $text-muted; margin-top: 1; }
    ExplainScreen #answer { height: 1fr; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close")]

    def __init__(self, *, guild_id: int | None, member_id: int | None, name_of: Any, gatekeeper: Any) -> None:
        super().__init__()
        self.guild_id = guild_id
        self.member_id = member_id
        self.name_of = name_of
        self.gatekeeper = gatekeeper

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Explain — why may (or may not) a member do something", "bold"))
            yield Label("Member (id)")
            yield Input(str(self.member_id or ""), id="member", placeholder="a Discord user id")
            yield Label("Capability (e.g. roles.grant) or Discord permission (e.g. MANAGE_ROLES)")
            words = sorted(BUILTIN_CAPABILITIES) + sorted(FLAGS.values())
            yield Input("roles.grant", id="what", suggester=SuggestFromList(words, case_sensitive=False))
            yield Label("Channel id (empty: guild-wide)")
            yield Input("", id="channel", placeholder="optional")
            with VerticalScroll(id="answer"):
                yield Static(Text("Enter to explain, Esc to close.", "dim"), id="answer-body")

    def on_mount(self) -> None:
        self.query_one("#what", Input).focus()
        self.run_worker(self._explain(), exclusive=True)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.run_worker(self._explain(), exclusive=True)

    async def _explain(self) -> None:
        body = self.query_one("#answer-body", Static)
        member = parse_id(self.query_one("#member", Input).value.strip())
        what = self.query_one("#what", Input).value.strip()
        raw_channel = self.query_one("#channel", Input).value.strip()
        channel = parse_id(raw_channel) if raw_channel else None
        if member is None or (raw_channel and channel is None):
            body.update(Text("Member and channel must be Discord ids (digits).", "bold"))
            return
        if self.guild_id is None or self.gatekeeper is None:
            body.update(Text("No guild yet: explain needs the guild state a connected console keeps.", "bold"))
            return
        try:
            answer = await self.gatekeeper.explain(self.guild_id, member, what, channel)
        except (ExplainError, GateError) as e:
            body.update(Text(safe_text(str(e), 300), "bold"))
            return
        body.update(render(answer, what, person(self.name_of, member) or str(member)))


def render(answer: Explanation, what: str, who: str) -> Text:
    verdict = "ALLOWED" if answer.allowed else "DENIED"
    out = Text()
    out.append(f"{safe_text(who, 40)} — {safe_text(what, 60)}: ", "bold")
    out.append(verdict, "bold green" if answer.allowed else "bold red")
    if answer.reason_code:
        out.append(f" ({answer.reason_code})", "bold")
    out.append("\n\n")
    for line in answer.lines():
        out.append(safe_text(line, 2000) + "\n", "bold" if line.startswith("→") else "")
    out.append(f"\nPermissions here: {', '.join(answer.permissions) or 'none'}", "dim")
    return out
