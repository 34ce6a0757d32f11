"""Slash commands end to end: the real hikari GatewayBot registers guild commands on the sim,
receives INTERACTION_CREATE from ``sim.invoke_command`` and answers through the REST routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import hikari
import pytest
from hikari.impl import config as hikari_config
from sim_helpers import Captured

from console.model.permissions import ALL
from console.model.times import discord_iso
from console.sim import SimServer

INTENTS = hikari.Intents.GUILDS | hikari.Intents.GUILD_MEMBERS
TIMEOUT = 10.0
Opt = hikari.CommandOption
T = hikari.OptionType


class SlashBot:
    """A connected GatewayBot set up as console/discord/bot.py does, queueing interactions."""

    def __init__(self, bot: hikari.GatewayBot, seen: Captured) -> None:
        self.bot = bot
        self.seen = seen
        self.interactions: asyncio.Queue[hikari.PartialInteraction] = asyncio.Queue()

    async def on_interaction(self, event: hikari.InteractionCreateEvent) -> None:
        self.interactions.put_nowait(event.interaction)

    async def next_command(self) -> hikari.CommandInteraction:
        interaction = await asyncio.wait_for(self.interactions.get(), TIMEOUT)
        assert isinstance(interaction, hikari.CommandInteraction)
        return interaction


@pytest.fixture
async def slash(sim: SimServer) -> AsyncIterator[SlashBot]:
    bot = hikari.GatewayBot(
        sim.token,
        rest_url=sim.rest_url,
        banner=None,
        logs=None,
        intents=INTENTS,
        cache_settings=hikari_config.CacheSettings(components=hikari.api.CacheComponents.NONE),
        auto_chunk_members=False,
        suppress_optimization_warning=True,
    )
    handle = SlashBot(bot, Captured())
    bot.subscribe(hikari.InteractionCreateEvent, handle.on_interaction)
    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    # hikari reports payloads its deserializers choke on to the loop's exception handler.
    loop.set_exception_handler(lambda _loop, context: handle.seen.loop_errors.append(context))
    try:
        await asyncio.wait_for(bot.start(check_for_updates=False), TIMEOUT)
        await sim.gateway.wait_identified(1, timeout=TIMEOUT)
        yield handle
        assert handle.seen.loop_errors == []
    finally:
        if bot.is_alive:
            await bot.close()
        loop.set_exception_handler(previous_handler)


def audit_command(rest: hikari.api.RESTClient) -> hikari.api.SlashCommandBuilder:
    """The console's /audit command: role grant|revoke, explain, audit-set, break-glass."""

    def role_change(name: str) -> Opt:
        return Opt(
            type=T.SUB_COMMAND,
            name=name,
            description=f"{name.title()} a role",
            options=[
                Opt(type=T.USER, name="member", description="Who", is_required=True),
                Opt(type=T.ROLE, name="role", description="Which role", is_required=True),
                Opt(type=T.STRING, name="reason", description="Why (audit log)"),
            ],
        )

    return (
        rest.slash_command_builder("audit", "Audit console")
        .set_default_member_permissions(hikari.Permissions.MANAGE_ROLES)
        .add_option(
            Opt(
                type=T.SUB_COMMAND_GROUP,
                name="role",
                description="Role changes",
                options=[role_change("grant"), role_change("revoke")],
            )
        )
        .add_option(
            Opt(
                type=T.SUB_COMMAND,
                name="explain",
                description="Why can or can't someone do something",
                options=[Opt(type=T.USER, name="member", description="Who", is_required=True)],
            )
        )
        .add_option(
            Opt(
                type=T.SUB_COMMAND,
                name="audit-set",
                description="Where audit messages go",
                options=[
                    Opt(
                        type=T.CHANNEL,
                        name="channel",
                        description="Text channel",
                        is_required=True,
                        channel_types=[hikari.ChannelType.GUILD_TEXT],
                    )
                ],
            )
        )
        .add_option(
            Opt(
                type=T.SUB_COMMAND,
                name="break-glass",
                description="Emergency bypass",
                options=[Opt(type=T.BOOLEAN, name="on", description="On or off", is_required=True)],
            )
        )
    )


async def register(sim: SimServer, rest: hikari.api.RESTClient) -> list[hikari.PartialCommand]:
    app = await rest.fetch_application()
    return list(await rest.set_application_commands(app.id, [audit_command(rest)], sim.guild_id))


def grant_options(member: Any, role: Any, reason: str | None = None) -> list[dict[str, Any]]:
    leaf: list[dict[str, Any]] = [
        {"name": "member", "type": 6, "value": str(member)},
        {"name": "role", "type": 8, "value": str(role)},
    ]
    if reason is not None:
        leaf.append({"name": "reason", "type": 3, "value": reason})
    return [{"name": "role", "type": 2, "options": [{"name": "grant", "type": 1, "options": leaf}]}]


def moderator(sim: SimServer) -> int:
    """A staff member holding Moderators (MANAGE_ROLES), not the owner."""
    mods = sim.guild.role_id("Moderators")
    return next(u for u in sim.guild.staff_ids() if u != sim.guild.owner_id and mods in sim.guild.members[u]["roles"])


# ---------------------------------------------------------------------- (a) registration


async def test_set_application_commands_registers_guild_commands(sim: SimServer, slash: SlashBot) -> None:
    rest = slash.bot.rest
    app = await rest.fetch_application()
    assert app.id == sim.application_id  # the id commands and interactions use

    created = await register(sim, rest)
    assert len(created) == 1
    audit = created[0]
    assert isinstance(audit, hikari.SlashCommand)
    assert (audit.name, audit.guild_id, audit.application_id) == ("audit", sim.guild_id, app.id)
    assert audit.default_member_permissions == hikari.Permissions.MANAGE_ROLES
    assert [o.name for o in audit.options or []] == ["role", "explain", "audit-set", "break-glass"]
    role_group = (audit.options or [])[0]
    assert [o.name for o in role_group.options or []] == ["grant", "revoke"]

    stored = sim.commands.by_name("audit")
    assert stored is not None
    assert [c["name"] for c in sim.commands.all()] == ["audit"]
    assert stored["id"] == str(audit.id)
    assert stored["default_member_permissions"] == "268435456"
    grant = stored["options"][0]["options"][0]
    assert [(o["name"], o["type"], o.get("required", False)) for o in grant["options"]] == [
        ("member", 6, True),
        ("role", 8, True),
        ("reason", 3, False),
    ]
    assert stored["options"][2]["options"][0]["channel_types"] == [0]

    # Overwriting with the same definition keeps id and version; a change keeps the id only.
    again = await register(sim, rest)
    assert (again[0].id, again[0].version) == (audit.id, audit.version)
    changed = audit_command(rest).set_description("Audit console (v2)")
    [updated] = await rest.set_application_commands(app.id, [changed], sim.guild_id)
    assert updated.id == audit.id
    assert updated.version != audit.version

    # POST creates one more; GET lists both; a PUT without it deletes it.
    ping = await rest.create_slash_command(app.id, "ping", "Are you there?", guild=sim.guild_id)
    fetched = await rest.fetch_application_commands(app.id, sim.guild_id)
    assert {c.name for c in fetched} == {"audit", "ping"}
    assert (await rest.fetch_application_command(app.id, ping.id, sim.guild_id)).name == "ping"
    await rest.set_application_commands(app.id, [changed], sim.guild_id)
    assert [c["name"] for c in sim.commands.all()] == ["audit"]


async def test_definitions_discord_refuses_are_refused(sim: SimServer, slash: SlashBot) -> None:
    rest = slash.bot.rest
    bad = rest.slash_command_builder("audit", "Audit console").add_option(
        Opt(type=T.STRING, name="reason", description="optional first")
    )
    bad.add_option(Opt(type=T.USER, name="member", description="required after", is_required=True))
    with pytest.raises(hikari.BadRequestError) as caught:
        await rest.set_application_commands(sim.application_id, [bad], sim.guild_id)
    assert caught.value.code == 50035
    assert "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID" in str(caught.value.errors)

    with pytest.raises(hikari.BadRequestError):
        await rest.create_slash_command(sim.application_id, "Audit", "Upper case", guild=sim.guild_id)
    with pytest.raises(hikari.ForbiddenError):  # another application's commands
        await rest.fetch_application_commands(sim.application_id + 1, sim.guild_id)
    assert sim.commands.all() == []


# ---------------------------------------------------------------------- (b)–(e) interactions


async def test_invoked_command_reaches_hikari_and_the_answers_reach_the_sim(sim: SimServer, slash: SlashBot) -> None:
    await register(sim, slash.bot.rest)
    g = sim.guild
    mod, target, verified = moderator(sim), g.regular_ids()[0], g.role_id("Verified")

    inv = sim.invoke_command(mod, "audit", grant_options(target, verified, "asked nicely"))
    interaction = await slash.next_command()

    # (b) hikari parsed Discord's payload: invoker, computed permissions, options, resolved.
    assert interaction.id == inv.id
    assert interaction.token == inv.token
    assert interaction.application_id == sim.application_id
    assert interaction.command_name == "audit"
    assert interaction.guild_id == sim.guild_id
    assert interaction.command_id == int(sim.commands.by_name("audit")["id"])  # type: ignore[index]
    assert interaction.user.id == mod
    assert interaction.member is not None
    assert interaction.member.id == mod
    assert interaction.channel_id == g.core_channels["general"]
    perms = g.channel_permissions(mod, g.core_channels["general"], sim.now_ms())
    assert interaction.member.permissions == hikari.Permissions(perms)
    assert hikari.Permissions.MANAGE_ROLES in interaction.member.permissions
    assert interaction.app_permissions is not None

    [group] = interaction.options
    assert (group.name, group.type) == ("role", hikari.OptionType.SUB_COMMAND_GROUP)
    [sub] = group.options or []
    assert (sub.name, sub.type) == ("grant", hikari.OptionType.SUB_COMMAND)
    values = {o.name: o.value for o in sub.options or []}
    assert values == {"member": target, "role": verified, "reason": "asked nicely"}
    assert interaction.resolved is not None
    assert interaction.resolved.roles[hikari.Snowflake(verified)].name == "Verified"
    assert interaction.resolved.users[hikari.Snowflake(target)].id == target
    assert interaction.resolved.members[hikari.Snowflake(target)].user.id == target

    # (b) the ephemeral initial response is recorded as sent.
    await interaction.create_initial_response(
        hikari.ResponseType.MESSAGE_CREATE, "Grant requested", flags=hikari.MessageFlag.EPHEMERAL
    )
    body = await inv.wait_response(TIMEOUT)
    assert body["type"] == 4
    assert body["data"]["content"] == "Grant requested"
    assert body["data"]["flags"] == 64
    assert inv.ephemeral
    assert inv.original is not None
    assert inv.original["flags"] == 64

    # (c) a follow-up.
    message = await interaction.execute("Grant confirmed", flags=hikari.MessageFlag.EPHEMERAL)
    [followup] = await inv.wait_followups(1, TIMEOUT)
    assert followup["content"] == "Grant confirmed"
    assert int(followup["id"]) == message.id
    assert message.flags == hikari.MessageFlag.EPHEMERAL
    edited = await interaction.edit_initial_response("Grant confirmed ✓")
    assert edited.content == "Grant confirmed ✓" == inv.original["content"]
    assert [m["content"] for m in inv.messages] == ["Grant confirmed ✓", "Grant confirmed"]

    # (d) a second initial response is refused as Discord refuses it.
    with pytest.raises(hikari.BadRequestError) as caught:
        await interaction.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, "again")
    assert caught.value.code == 40060
    assert len(inv.rejected) == 1
    assert inv.response == body

    # (e) a wrong token or id is an unknown interaction.
    rest = slash.bot.rest
    with pytest.raises(hikari.NotFoundError) as unknown:
        await rest.create_interaction_response(inv.id, "not-the-token", 4, "x")
    assert unknown.value.code == 10062
    with pytest.raises(hikari.NotFoundError):
        await rest.create_interaction_response(inv.id + 1, inv.token, 4, "x")
    with pytest.raises(hikari.UnauthorizedError):
        await rest.execute_webhook(sim.application_id, "not-the-token", "x")


async def test_deferred_response_is_filled_by_editing_the_original(sim: SimServer, slash: SlashBot) -> None:
    await register(sim, slash.bot.rest)
    mod = moderator(sim)
    mod_log = sim.guild.core_channels["mod-log"]
    inv = sim.invoke_command(mod, "audit", [{"name": "audit-set", "options": [{"name": "channel", "value": mod_log}]}])
    interaction = await slash.next_command()
    [sub] = interaction.options
    assert sub.name == "audit-set"
    assert (sub.options or [])[0].value == mod_log
    assert interaction.resolved is not None
    assert interaction.resolved.channels[hikari.Snowflake(mod_log)].name == "mod-log"

    # A follow-up before any acknowledgement: Discord knows no such webhook yet.
    with pytest.raises(hikari.NotFoundError) as early:
        await interaction.execute("too early")
    assert early.value.code == 10015

    await interaction.create_initial_response(
        hikari.ResponseType.DEFERRED_MESSAGE_CREATE, flags=hikari.MessageFlag.EPHEMERAL
    )
    await inv.wait_response(TIMEOUT)
    assert inv.original is not None
    assert inv.original["flags"] == 64 | 128
    await interaction.edit_initial_response("Audit messages go to #mod-log")
    [edit] = await inv.wait_edits(1, TIMEOUT)
    assert edit["content"] == "Audit messages go to #mod-log"
    assert inv.original["flags"] == 64
    assert inv.original["edited_timestamp"] is not None


async def test_boolean_option_and_the_interaction_message_shape(sim: SimServer, slash: SlashBot) -> None:
    await register(sim, slash.bot.rest)
    owner = sim.guild.owner_id
    on = {"name": "on", "type": 5, "value": True}
    inv = sim.invoke_command(owner, "audit", [{"name": "break-glass", "type": 1, "options": [on]}])
    interaction = await slash.next_command()
    assert interaction.member is not None
    assert interaction.member.permissions == hikari.Permissions(ALL)  # the owner has everything
    [sub] = interaction.options
    assert (sub.name, (sub.options or [])[0].value) == ("break-glass", True)
    assert interaction.resolved is None  # nothing to resolve: Discord leaves it out

    response = await interaction.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, "Break-glass is ON")
    assert response.resource is not hikari.UNDEFINED
    assert response.resource.message is not None
    assert response.resource.message.content == "Break-glass is ON"
    assert not inv.ephemeral
    original = await slash.bot.rest.fetch_interaction_response(sim.application_id, inv.token)
    assert original.id == response.interaction.response_message_id
    assert original.interaction_metadata is not None
    assert original.interaction_metadata.user.id == owner
    assert inv.command_line() == "audit break-glass"


# ---------------------------------------------------------------------- without a bot


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:  # no Authorization header, as for Discord
        yield session


async def test_callback_routes_need_no_bot_token_and_answer_204_without_with_response(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    sim.commands.overwrite([audit_command_payload()])
    member = {"name": "member", "value": sim.guild.regular_ids()[0]}
    inv = sim.invoke_command(moderator(sim), "audit", [{"name": "explain", "options": [member]}])
    url = f"{sim.rest_url}/interactions/{inv.id}/{inv.token}/callback"
    body = {"type": 4, "data": {"content": "Because RBAC_GRANT_ALLOW", "flags": 64}}
    async with http.post(url, json=body) as resp:
        assert resp.status == 204
        assert "X-RateLimit-Bucket" not in resp.headers  # Discord doesn't rate-limit callbacks
    async with http.post(url, json=body) as resp:
        assert resp.status == 400
        assert (await resp.json())["code"] == 40060
    bad_token = f"{sim.rest_url}/interactions/{inv.id}/{inv.token}x/callback"
    async with http.post(bad_token, json=body) as resp:
        assert resp.status == 404
        assert (await resp.json())["code"] == 10062
    async with http.get(f"{sim.rest_url}/guilds/{sim.guild_id}/roles") as resp:
        assert resp.status == 401  # everything else still wants the bot token

    # Discord's 3-second deadline, when the knob turns it on: a late answer is unknown.
    sim.knobs.interaction_ack_timeout_s = 0.0
    late = sim.invoke_command(moderator(sim), "audit", [{"name": "explain", "options": [member]}])
    late_url = f"{sim.rest_url}/interactions/{late.id}/{late.token}/callback"
    async with http.post(late_url, json=body) as resp:
        assert resp.status == 404
        assert (await resp.json())["code"] == 10062
    assert not late.acknowledged


def audit_command_payload() -> dict[str, Any]:
    return {
        "name": "audit",
        "description": "Audit console",
        "options": [
            {
                "type": 1,
                "name": "explain",
                "description": "Why",
                "options": [{"type": 6, "name": "member", "description": "Who", "required": True}],
            }
        ],
    }


def test_invoke_command_refuses_what_the_discord_client_would_not_send(sim: SimServer) -> None:
    with pytest.raises(LookupError):
        sim.invoke_command(moderator(sim), "audit", [])
    sim.commands.overwrite([audit_command_payload()])
    mod = moderator(sim)
    with pytest.raises(ValueError, match="choose exactly one"):
        sim.invoke_command(mod, "audit", [])
    with pytest.raises(ValueError, match="required"):
        sim.invoke_command(mod, "audit", [{"name": "explain", "options": []}])
    with pytest.raises(ValueError, match="no option"):
        sim.invoke_command(mod, "audit", [{"name": "nope", "type": 1}])
    unknown_user = {"name": "member", "value": 42}
    with pytest.raises(ValueError, match="not a known"):
        sim.invoke_command(mod, "audit", [{"name": "explain", "options": [unknown_user]}])
    assert sim.invocations == []


def test_computed_permissions_follow_discords_algorithm(sim: SimServer) -> None:
    g = sim.guild
    now = sim.now_ms()
    mod_chat = g.core_channels["mod-chat"]
    member = next(u for u in g.regular_ids() if not g.timed_out(u, now))
    view = 1 << 10
    assert g.base_permissions(g.owner_id) == ALL
    assert g.base_permissions(member) & view  # @everyone can view …
    assert not g.channel_permissions(member, mod_chat, now) & view  # … but not the staff channel
    assert g.channel_permissions(moderator(sim), mod_chat, now) & view
    # A timeout leaves only VIEW_CHANNEL and READ_MESSAGE_HISTORY (administrators are exempt).
    general = g.core_channels["general"]
    g.members[member]["communication_disabled_until"] = discord_iso(now + 60_000)
    assert g.channel_permissions(member, general, now) == view | 1 << 16
    assert g.channel_permissions(member, general, now + 120_000) & (1 << 11)  # SEND_MESSAGES again
