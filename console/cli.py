"""``audit-console``: the face. Arguments (parsed by console/arguments) → settings → the chosen
command (console/commands, the console's screens) → exit code. Only here are the runtime, the
simulator and the console app put together.

Exit codes: 0 success; 1 a runtime failure (Discord unreachable, a backfill that failed);
2 bad input (flags, dates, config, token, database). Every failure is one line on stderr —
never a traceback (unexpected errors go to the log file, with a one-line pointer).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from console import gc_policy, logs, paths, switch_interval
from console.arguments import COMMAND_PARSERS, build_parser, command_parser
from console.config import Settings, check_rest_url, db_location, load, parse_id, shard_group
from console.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, ConfigError, Failure

if TYPE_CHECKING:
    from console.model.filters import Filter

log = logging.getLogger("console.cli")


# -- helpers ---------------------------------------------------------------------------------------


def settings_from(args: argparse.Namespace) -> Settings:
    s = load(getattr(args, "config", None))
    if getattr(args, "db", None):
        s = s.with_(db=db_location(args.db))
    if getattr(args, "rest_url", None):
        s = s.with_(rest_url=check_rest_url(args.rest_url))
    if getattr(args, "policy", None):
        s = s.with_(policy=args.policy.expanduser())
    guilds = getattr(args, "guild", None)
    if guilds:
        s = s.with_(guild_ids=tuple(parse_id(g, "--guild") for g in _split(guilds)))
    shards, count = getattr(args, "shards", None), getattr(args, "shard_count", None)
    if shards is not None or count is not None:
        s = s.with_(
            shards=shard_group(shards, count, getattr(args, "command", "collect"), ("--shards", "--shard-count"))
        )
    return s


def _split(values: Sequence[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def build_filter(args: argparse.Namespace, now_ms: int) -> Filter:
    from console.model.actions import CATEGORIES, parse_action
    from console.model.filters import Filter, parse_time

    try:
        actions = frozenset(parse_action(a) for a in _split(args.action))
        since = parse_time(args.since, now_ms) if args.since else None
        until = parse_time(args.until, now_ms) if args.until else None
    except ValueError as e:
        raise ConfigError(str(e)) from None
    categories = frozenset(c.lower() for c in _split(args.category))
    unknown = categories - set(CATEGORIES)
    if unknown:
        raise ConfigError(f"unknown category {sorted(unknown)[0]!r} (one of: {', '.join(CATEGORIES)})")
    if since is not None and until is not None and since >= until:
        raise ConfigError("--since must be before --until")
    return Filter(
        guild_ids=frozenset(parse_id(g, "--guild") for g in _split(args.guild)),
        actions=actions,
        categories=categories,
        actor_ids=frozenset(parse_id(a, "--actor") for a in _split(args.actor)),
        target_ids=frozenset(parse_id(t, "--target") for t in _split(args.target)),
        since_ms=since,
        until_ms=until,
        text=args.text or "",
        newest_first=not args.oldest_first,
    )


# -- commands --------------------------------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from console.commands.screens import run_demo

    # The default demo.db starts afresh each time; a store given with --db (a file or a PostgreSQL
    # database) is used as it is, never wiped. The demo reads no config: a PostgreSQL password
    # comes from PGPASSWORD, ~/.pgpass or a service file.
    db = db_location(args.db) if args.db else paths.demo_db()
    if args.rate < 0 or args.rate > 10_000:
        raise ConfigError("--rate must be between 0 and 10000 entries per second")
    return run_demo(db, seed=args.seed, rate=args.rate, fresh=args.db is None)


def cmd_open(args: argparse.Namespace) -> int:
    from console.commands.screens import run_open

    settings = settings_from(args)
    return run_open(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    from console.commands.serve import hash_password, serve

    if args.hash_password:
        return hash_password()
    settings = settings_from(args)
    logs.setup(paths.log_file(), stderr=True)
    return serve(
        settings, host=args.host, port=args.port, demo=args.demo, behind_proxy=args.behind_proxy, config=args.config
    )


def cmd_run(args: argparse.Namespace) -> int:
    from console.commands.screens import run_live, run_open
    from console.config import load_token
    from console.store.team_access import store_identity

    settings = settings_from(args)
    identity = asyncio.run(store_identity(settings.db, password_file=settings.password_file))
    if identity is not None and identity.a_person:
        # A moderator's or viewer's console on a team store never connects to Discord (the
        # team's collector does): no bot token on their machines. It is `open`'s console.
        return run_open(settings)
    token = load_token(settings, args.token_file)
    return run_live(settings, token)


def cmd_collect(args: argparse.Namespace) -> int:
    from console.commands.collect import collect, standby_info
    from console.config import load_token
    from console.services import check_policy

    settings = settings_from(args)
    if args.standby_info:  # a look at the store: no token, no policy needed
        return asyncio.run(standby_info(settings))
    token = load_token(settings, args.token_file)
    check_policy(settings)
    logs.setup(paths.log_file(), stderr=True)
    return asyncio.run(collect(settings, token))


def cmd_backfill(args: argparse.Namespace) -> int:
    from console.commands.backfill import backfill
    from console.config import load_token

    settings = settings_from(args)
    token = load_token(settings, args.token_file)
    logs.setup(paths.log_file(), stderr=True)
    return asyncio.run(backfill(settings, token))


def cmd_export(args: argparse.Namespace) -> int:
    import time

    from console.commands.export import export

    settings = settings_from(args)
    now_ms = int(time.time() * 1000)
    flt = build_filter(args, now_ms)
    return export(settings, flt, args.format, args.out, query=args.query, now_ms=now_ms)


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from console.reports.command import run

    settings = settings_from(args)
    guilds = [parse_id(g, "--guild") for g in _split(args.guild)]
    return run(
        settings.db,
        since=args.since,
        until=args.until,
        guild_ids=guilds,
        fmt=args.format,
        out=args.out,
        now_ms=int(time.time() * 1000),
        password_file=settings.password_file,
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from console.maintenance import run_verify

    settings = settings_from(args)
    return run_verify(settings.db, heads=args.heads, password_file=settings.password_file)


def cmd_migrate(args: argparse.Namespace) -> int:
    from console.commands.migrate import migrate
    from console.model.location import PgLocation
    from console.store.opening import pg_dsn

    # Checked as --db is (no password in a URL; libpq's PGSERVICE and a named service found).
    ends = [db_location(args.source, "--from"), db_location(args.target, "--to")]
    source, target = (pg_dsn(end) if isinstance(end, PgLocation) else str(end) for end in ends)
    return migrate(source, target)


def cmd_prune(args: argparse.Namespace) -> int:
    from console.maintenance import run_prune

    return run_prune(settings_from(args), dry_run=args.dry_run)


def cmd_explain(args: argparse.Namespace) -> int:
    from console.commands.explain import explain, show

    settings = settings_from(args)
    guild_id = parse_id(args.guild_id, "--guild")
    member_id = parse_id(args.member, "--member")
    channel_id = parse_id(args.channel, "--channel") if args.channel else None
    token = None
    if args.state is None:  # a --state file is answered offline; the stored state may lack the member
        from console.config import load_token

        try:
            token = load_token(settings, args.token_file)
        except ConfigError:
            if args.token_file is not None:
                raise  # asked for and unusable: said; otherwise only needed for a member not stored
    answer = explain(
        settings,
        guild_id,
        member_id,
        capability=args.capability,
        permission=args.permission,
        channel_id=channel_id,
        state=args.state,
        token=token,
    )
    show(answer, args.capability or args.permission.upper(), as_json=args.json)
    return EXIT_OK if answer.allowed else EXIT_FAILED


def cmd_member(args: argparse.Namespace) -> int:
    import asyncio

    from console.commands.member import story

    settings = settings_from(args)
    guild_id = parse_id(args.guild_id, "--guild")
    member_id = parse_id(args.member, "MEMBER_ID")
    if args.limit < 0:
        raise ConfigError("--limit must be 0 or more")
    text = asyncio.run(
        story(
            settings.db,
            guild_id,
            member_id,
            limit=args.limit,
            as_json=args.json,
            password_file=settings.password_file,
        )
    )
    sys.stdout.write(text)
    return EXIT_OK


def cmd_role(args: argparse.Namespace) -> int:
    from console.commands.role import check_request, role_change
    from console.config import load_token
    from console.services import check_policy

    settings = settings_from(args)
    guild_id = parse_id(args.guild_id, "--guild")
    member_id = parse_id(args.member, "--member")
    role_id = parse_id(args.role, "--role")
    reason = check_request(args.reason, args.wait)
    check_policy(settings)
    token, token_problem = None, None
    try:
        token = load_token(settings, args.token_file)
    except ConfigError as e:
        token_problem = str(e)  # not needed when a collector runs on the store; said when it is
    return asyncio.run(
        role_change(
            settings,
            token,
            op=args.role_op,
            guild_id=guild_id,
            member_id=member_id,
            role_id=role_id,
            reason=reason,
            wait_s=args.wait,
            token_problem=token_problem,
        )
    )


def cmd_team(args: argparse.Namespace) -> int:
    from console.commands.team import run_team

    if args.team_op == "init" and args.url:
        args.db = args.url
    discord_id = parse_id(args.discord_id, "--discord-id") if args.team_op == "add-moderator" else None
    settings = settings_from(args)
    return run_team(settings, args.team_op, getattr(args, "login", None), discord_id)


def cmd_policy(args: argparse.Namespace) -> int:
    from console.policy.document import PolicyError, load_policy

    if args.policy_command == "example":
        from importlib.resources import files

        sys.stdout.write(files("console.policy").joinpath("example.toml").read_text(encoding="utf-8"))
        return EXIT_OK
    try:
        policy = load_policy(args.file.expanduser())
    except PolicyError as e:
        raise ConfigError(str(e)) from None
    sys.stdout.write(
        f"{args.file}: valid, version {policy.version}: {len(policy.grants)} grants, "
        f"{len(policy.overrides)} overrides, {len(policy.capabilities)} capabilities\n"
    )
    return EXIT_OK


def cmd_sim(args: argparse.Namespace) -> int:
    from console.commands.sim import run_sim

    if not 0 <= args.port <= 65535:
        raise ConfigError("--port must be between 0 and 65535")
    from console.sim.setup_faults import MISCONFIGURATIONS

    wrong = _split(args.misconfigure)
    unknown = [w for w in wrong if w not in MISCONFIGURATIONS]
    if unknown:
        raise ConfigError(f"--misconfigure: unknown {unknown[0]!r} (one of: {', '.join(MISCONFIGURATIONS)})")
    logs.setup(paths.log_file(), stderr=True)
    return run_sim(port=args.port, seed=args.seed, rate=args.rate, misconfigure=wrong)


def cmd_invite_url(args: argparse.Namespace) -> int:
    from console.commands.invite import invite
    from console.config import load_token

    settings = settings_from(args)
    return invite(settings, load_token(settings, args.token_file))


def cmd_doctor(args: argparse.Namespace) -> int:
    from console.commands.doctor import doctor
    from console.config import load_token

    settings = settings_from(args)
    return doctor(settings, load_token(settings, args.token_file))


#: The commands that open the TUI (the garbage collector waits for their first frame).
SCREENS: Final = frozenset({"demo", "open", "run"})

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "open": cmd_open,
    "serve": cmd_serve,
    "run": cmd_run,
    "collect": cmd_collect,
    "backfill": cmd_backfill,
    "export": cmd_export,
    "explain": cmd_explain,
    "member": cmd_member,
    "verify": cmd_verify,
    "prune": cmd_prune,
    "report": cmd_report,
    "policy": cmd_policy,
    "role": cmd_role,
    "team": cmd_team,
    "sim": cmd_sim,
    "invite-url": cmd_invite_url,
    "doctor": cmd_doctor,
    "migrate": cmd_migrate,
}


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words and words[0] in COMMAND_PARSERS else None)
    args, extra = parser.parse_known_args(words)
    if extra:
        # Said by the command's own parser, so the hint points at `audit-console export --help`.
        command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
    if not args.command:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    # While a screen starts the garbage collector waits (console.gc_policy) and threads get the
    # interpreter lock sooner (console.switch_interval): the launcher undoes both once the first
    # frame is out; at the latest they are undone when the command returns.
    if args.command in SCREENS:
        gc_policy.pause()
        switch_interval.shorten()
    try:
        return _run_command(args)
    finally:
        gc_policy.resume()
        switch_interval.restore()


def entry() -> int:
    """The ``audit-console`` command and ``python -m console``: this process is the console's."""
    gc_policy.own_process()
    return main()


def _run_command(args: argparse.Namespace) -> int:
    logs.setup(paths.log_file())
    from console.store.errors import StoreError

    try:
        return COMMANDS[args.command](args)
    except ConfigError as e:
        return _fail(f"{e}", EXIT_BAD_INPUT)
    except StoreError as e:
        return _fail(f"{e}", EXIT_BAD_INPUT)
    except Failure as e:
        return _fail(f"{e}", EXIT_FAILED)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `audit-console export … | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # the promise: never a traceback on the terminal
        from console.ingest.source import SourceError  # here, not before: browsing never needs it

        if isinstance(e, SourceError):  # Discord could not be reached or answered wrongly
            return _fail(f"{e}", EXIT_FAILED)
        log.exception("unexpected error in %s", args.command)
        return _fail(f"internal error: {e.__class__.__name__}: {e} (details in {paths.log_file()})", EXIT_FAILED)


def _fail(message: str, code: int) -> int:
    from console.secret import REDACTOR

    sys.stderr.write(f"audit-console: {REDACTOR.redact(message)}\n")
    return code
