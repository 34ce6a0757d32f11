"""Application commands of the simulated guild: the registry, Discord's rules, the REST routes.

Routes (bot token required), for the sim's own application and guild only:

* ``PUT  /applications/{app}/guilds/{guild}/commands`` — bulk overwrite: commands matched by
  ``id`` or by (name, type) keep their id; unchanged ones keep their version; the rest are
  deleted. Answers the whole new list.
* ``GET  /applications/{app}/guilds/{guild}/commands`` — the list.
* ``POST /applications/{app}/guilds/{guild}/commands`` — create (201) or, when a command of
  that name and type exists, update it in place (200).
* ``GET`` / ``DELETE …/commands/{command}`` — one command (else 404 10063 Unknown application
  command).

Definitions are checked as Discord checks them (names, lengths, option nesting, required
options first, unique names, at most 25 options and 100 commands), so a definition Discord
would refuse fails against the sim too, with a 400 50035 Invalid Form Body error tree.
Global commands are not simulated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from console.sim.guild import JSON, SimGuild
from console.sim.rest import API, error, json_response

if TYPE_CHECKING:
    from console.sim.server import SimServer

# Command types: CHAT_INPUT (slash), USER and MESSAGE context menus, PRIMARY_ENTRY_POINT.
CHAT_INPUT = 1
COMMAND_TYPES = frozenset({1, 2, 3, 4})
# Option types (1 SUB_COMMAND … 11 ATTACHMENT).
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
OPTION_TYPES = frozenset(range(1, 12))

MAX_COMMANDS = 100
MAX_OPTIONS = 25
# Discord's pattern is ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$; ``re`` has no \p{…}, and
# \w (letters, digits, underscore, Unicode-aware) is the closest it offers.
_NAME = re.compile(r"^[-_'\w]{1,32}$")

# Option keys Discord echoes back (when set); anything else a client sends is dropped.
_OPTION_KEYS = (
    "choices",
    "channel_types",
    "min_value",
    "max_value",
    "min_length",
    "max_length",
)


class CommandError(Exception):
    """A definition Discord would refuse; ``errors`` is the Invalid Form Body error tree."""

    def __init__(self, errors: JSON) -> None:
        super().__init__("Invalid Form Body")
        self.errors = errors


def _problem(code: str, message: str) -> JSON:
    return {"_errors": [{"code": code, "message": message}]}


# ---------------------------------------------------------------------- validation


def _name_problem(name: Any, *, lowercase: bool) -> JSON | None:
    if not isinstance(name, str) or not name:
        return _problem("BASE_TYPE_REQUIRED", "This field is required")
    if not _NAME.match(name):
        return _problem("STRING_TYPE_REGEX", "String value did not match validation regex.")
    if lowercase and name != name.lower():
        return _problem("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    return None


def _description_problem(description: Any) -> JSON | None:
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        return _problem("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    return None


def _allowed_option_types(level: str) -> frozenset[int]:
    """Nesting rules: groups hold only sub-commands; sub-commands hold only value options."""
    if level == "group":
        return frozenset({SUB_COMMAND})
    if level == "sub_command":
        return OPTION_TYPES - {SUB_COMMAND, SUB_COMMAND_GROUP}
    return OPTION_TYPES


def _option_problems(option: Any, level: str) -> JSON:
    if not isinstance(option, dict):
        return _problem("DICT_TYPE_CONVERT", "Only dictionaries are allowed.")
    problems: JSON = {}
    if (p := _name_problem(option.get("name"), lowercase=True)) is not None:
        problems["name"] = p
    if (p := _description_problem(option.get("description"))) is not None:
        problems["description"] = p
    otype = option.get("type")
    if otype not in _allowed_option_types(level):
        problems["type"] = _problem(
            "APPLICATION_COMMAND_OPTION_TYPE_INVALID", f"Option type {otype!r} is not allowed here"
        )
    elif otype in (SUB_COMMAND, SUB_COMMAND_GROUP):
        inner = "group" if otype == SUB_COMMAND_GROUP else "sub_command"
        if sub := _options_problems(option.get("options") or [], inner):
            problems["options"] = sub
    return problems


def _options_problems(options: Any, level: str) -> JSON:
    """Problems of one level of options, keyed by index as Discord reports them."""
    if not isinstance(options, list):
        return _problem("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
    if len(options) > MAX_OPTIONS:
        return _problem("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    problems: JSON = {}
    seen: set[str] = set()
    optional_seen = False
    nested = [o for o in options if isinstance(o, dict) and o.get("type") in (1, 2)]
    if level == "command" and nested and len(nested) != len(options):
        problems.update(
            _problem(
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Sub-commands and groups cannot be mixed with other options",
            )
        )
    for i, option in enumerate(options):
        found = _option_problems(option, level)
        if isinstance(option, dict):
            name = option.get("name")
            if name in seen:
                found["name"] = _problem(
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
                )
            seen.add(name)  # type: ignore[arg-type]
            if option.get("required") and optional_seen:
                found["required"] = _problem(
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
            optional_seen = optional_seen or not option.get("required")
        if found:
            problems[str(i)] = found
    return problems


def command_problems(body: Any) -> JSON:
    """Everything Discord would refuse in one command definition ({} when it is fine)."""
    if not isinstance(body, dict):
        return _problem("DICT_TYPE_CONVERT", "Only dictionaries are allowed.")
    problems: JSON = {}
    ctype = body.get("type", CHAT_INPUT)
    if ctype not in COMMAND_TYPES:
        problems["type"] = _problem("BASE_TYPE_CHOICES", f"Value must be one of {sorted(COMMAND_TYPES)}.")
    if (p := _name_problem(body.get("name"), lowercase=ctype == CHAT_INPUT)) is not None:
        problems["name"] = p
    if ctype == CHAT_INPUT:
        if (p := _description_problem(body.get("description"))) is not None:
            problems["description"] = p
        if opts := _options_problems(body.get("options") or [], "command"):
            problems["options"] = opts
    elif body.get("description") or body.get("options"):
        # Context-menu commands take neither a description nor options.
        problems["description"] = _problem(
            "APPLICATION_COMMAND_CONTEXT_MENU_INVALID",
            "Context menu commands cannot have description or options",
        )
    return problems


# ---------------------------------------------------------------------- Discord's shape


def _option_object(option: JSON) -> JSON:
    """An option as Discord echoes it: unset and default values are left out."""
    out: JSON = {
        "type": option["type"],
        "name": option["name"],
        "description": option["description"],
    }
    if option.get("required"):
        out["required"] = True
    if option.get("autocomplete"):
        out["autocomplete"] = True
    for key in ("name_localizations", "description_localizations"):
        if option.get(key):
            out[key] = option[key]
    for key in _OPTION_KEYS:
        if option.get(key) is not None:
            out[key] = option[key]
    if option["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
        out["options"] = [_option_object(o) for o in option.get("options") or []]
    elif option.get("options"):
        out["options"] = [_option_object(o) for o in option["options"]]
    return out


def _permissions_string(value: Any) -> str | None:
    # Clients send an int or a string; Discord answers a string, or null for "everyone".
    return None if value is None else str(int(value))


class CommandRegistry:
    """The guild commands of the sim's application, by id in creation order."""

    def __init__(self, guild: SimGuild, now_ms: Callable[[], int]) -> None:
        self._guild = guild
        self._now_ms = now_ms
        self.commands: dict[int, JSON] = {}
        """Command objects exactly as the REST API returns them."""

    def all(self) -> list[JSON]:
        return list(self.commands.values())

    def by_name(self, name: str, ctype: int = CHAT_INPUT) -> JSON | None:
        return next((c for c in self.commands.values() if c["name"] == name and c["type"] == ctype), None)

    def _build(self, body: JSON, cid: int, previous: JSON | None) -> JSON:
        ctype = body.get("type", CHAT_INPUT)
        command: JSON = {
            "id": str(cid),
            "application_id": str(self._guild.application_id),
            "version": "",
            "default_member_permissions": _permissions_string(body.get("default_member_permissions")),
            "type": ctype,
            "name": body["name"],
            "name_localizations": body.get("name_localizations") or None,
            "description": body.get("description") or "",
            "description_localizations": body.get("description_localizations") or None,
            "guild_id": str(self._guild.guild_id),
            "nsfw": bool(body.get("nsfw", False)),
            "integration_types": [0],  # guild install
            "contexts": None,  # guild commands have no contexts
        }
        if options := body.get("options"):
            command["options"] = [_option_object(o) for o in options]
        # The version changes only when the definition does (Discord's "version" snowflake).
        if previous is not None and {**previous, "version": ""} == command:
            command["version"] = previous["version"]
        else:
            command["version"] = str(self._guild.ids.make(self._now_ms()))
        return command

    def _match(self, body: JSON) -> JSON | None:
        if body.get("id") is not None and str(body["id"]).isdigit():
            return self.commands.get(int(body["id"]))
        return self.by_name(body["name"], body.get("type", CHAT_INPUT))

    def overwrite(self, bodies: Any) -> list[JSON]:
        """Bulk overwrite (PUT): the new full list. Raises CommandError, changing nothing."""
        if not isinstance(bodies, list):
            raise CommandError(_problem("LIST_TYPE_CONVERT", "Only iterables may be used"))
        if len(bodies) > MAX_COMMANDS:
            raise CommandError(_problem("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_COMMANDS} or fewer in length."))
        problems: JSON = {}
        seen: set[tuple[Any, Any]] = set()
        for i, body in enumerate(bodies):
            if found := command_problems(body):
                problems[str(i)] = found
                continue
            key = (body["name"], body.get("type", CHAT_INPUT))
            if key in seen:
                problems[str(i)] = {
                    "name": _problem(
                        "APPLICATION_COMMANDS_DUPLICATE_NAME",
                        "Application command names must be unique",
                    )
                }
            seen.add(key)
        if problems:
            raise CommandError(problems)
        fresh: dict[int, JSON] = {}
        for body in bodies:
            previous = self._match(body)
            cid = int(previous["id"]) if previous else self._guild.ids.make(self._now_ms())
            fresh[cid] = self._build(body, cid, previous)
        self.commands = fresh
        return self.all()

    def upsert(self, body: Any) -> tuple[JSON, bool]:
        """Create (POST) or update the command of the same name and type: (command, created)."""
        if found := command_problems(body):
            raise CommandError(found)
        previous = self.by_name(body["name"], body.get("type", CHAT_INPUT))
        cid = int(previous["id"]) if previous else self._guild.ids.make(self._now_ms())
        self.commands[cid] = self._build(body, cid, previous)
        return self.commands[cid], previous is None

    def delete(self, cid: int) -> bool:
        return self.commands.pop(cid, None) is not None


# ---------------------------------------------------------------------- REST routes


#: Discord's messages for the limits ``Knobs.commands_refused_code`` answers with.
_LIMIT_MESSAGES = {
    30032: "Maximum number of application commands reached (100)",
    30034: "Max number of daily application command creates has been reached (200)",
}


class CommandApi:
    """The guild command routes, bound to one SimServer (see the module docstring)."""

    def __init__(self, sim: SimServer) -> None:
        self.sim = sim

    def routes(self, app: web.Application) -> None:
        base = f"{API}/applications/{{application}}/guilds/{{guild}}/commands"
        r = app.router
        r.add_get(base, self.list_commands)
        r.add_put(base, self.overwrite)
        r.add_post(base, self.create)
        r.add_get(f"{base}/{{command}}", self.get_command)
        r.add_delete(f"{base}/{{command}}", self.delete_command)

    def _scope_error(self, request: web.Request) -> web.Response | None:
        """Only the sim's own application, in its one guild, when added with the scope."""
        if not self.sim.knobs.commands_scope:
            return error(403, 50001, "Missing Access")
        if request.match_info["application"] != str(self.sim.guild.application_id):
            return error(403, 50001, "Missing Access")
        if request.match_info["guild"] != str(self.sim.guild_id):
            return error(404, 10004, "Unknown Guild")
        return None

    async def _body(self, request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def list_commands(self, request: web.Request) -> web.Response:
        return self._scope_error(request) or json_response(self.sim.commands.all())

    def _limit_error(self) -> web.Response | None:
        """``Knobs.commands_refused_code``: the application at Discord's commands limits."""
        code = self.sim.knobs.commands_refused_code
        if code is None:
            return None
        return error(400, code, _LIMIT_MESSAGES.get(code, "Bad Request"))

    async def overwrite(self, request: web.Request) -> web.Response:
        if (err := self._scope_error(request) or self._limit_error()) is not None:
            return err
        try:
            return json_response(self.sim.commands.overwrite(await self._body(request)))
        except CommandError as e:
            return error(400, 50035, "Invalid Form Body", e.errors)

    async def create(self, request: web.Request) -> web.Response:
        if (err := self._scope_error(request) or self._limit_error()) is not None:
            return err
        try:
            command, created = self.sim.commands.upsert(await self._body(request))
        except CommandError as e:
            return error(400, 50035, "Invalid Form Body", e.errors)
        return json_response(command, 201 if created else 200)

    def _command_id(self, request: web.Request) -> int | None:
        raw = request.match_info["command"]
        cid = int(raw) if raw.isdigit() else None
        return cid if cid in self.sim.commands.commands else None

    async def get_command(self, request: web.Request) -> web.Response:
        if (err := self._scope_error(request)) is not None:
            return err
        if (cid := self._command_id(request)) is None:
            return error(404, 10063, "Unknown application command")
        return json_response(self.sim.commands.commands[cid])

    async def delete_command(self, request: web.Request) -> web.Response:
        if (err := self._scope_error(request)) is not None:
            return err
        if (cid := self._command_id(request)) is None:
            return error(404, 10063, "Unknown application command")
        self.sim.commands.delete(cid)
        return web.Response(status=204)
