"""``audit-console``: argument parsing → settings → the chosen command; exit codes.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from console import __version__, gc_policy, logs, paths, switch_interval
from console.config import Settings, check_rest_url, load, parse_id
from console.errors import ConfigError, Failure

if TYPE_CHECKING:
    from console.model.filters import Filter

log = logging.getLogger("console.cli")

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


def _common(p: argparse.ArgumentParser, *, rest: bool = True, token: bool = False) -> None:
    p.add_argument("--db", type=Path, help=f"the SQLite store (default: {paths.default_db()})")
    p.add_argument("--config", type=Path, help=f"config file (default: {paths.config_file()})")
    if rest:
        p.add_argument("--rest-url", help="Discord REST base URL (a simulator or proxy); default Discord's")
    if token:
        p.add_argument("--token-file", type=Path, help="file holding the bot token (mode 600); else $DISCORD_TOKEN")
        p.add_argument("--policy", type=Path, metavar="FILE", help="policy file (default: the config's, else built-in)")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--guild", action="append", default=[], metavar="ID", help="only this guild (repeatable)")
    p.add_argument(
        "--action",
        action="append",
        default=[],
        metavar="NAME",
        help="action name or number, e.g. MEMBER_BAN_ADD (repeatable, or comma-separated)",
    )
    p.add_argument("--category", action="append", default=[], metavar="NAME", help="action category (repeatable)")
    p.add_argument("--actor", action="append", default=[], metavar="ID", help="who did it (repeatable)")
    p.add_argument("--target", action="append", default=[], metavar="ID", help="to whom / what (repeatable)")
    p.add_argument("--since", metavar="WHEN", help="7d, 12h, 30m, 2w or a date/time (UTC)")
    p.add_argument("--until", metavar="WHEN", help="same forms as --since")
    p.add_argument("--text", metavar="WORDS", help='full-text search in reasons, names and changes ("phrase", prefix*)')
    p.add_argument("--oldest-first", action="store_true", help="oldest first (default newest first)")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line. ``only``: that command's parser alone (the others are not built: a
    screen's start does not pay ~4 ms for twenty parsers it will not use)."""
    parser = _Parser(prog="audit-console", description="A terminal console for Discord moderators.")
    parser.add_argument("--version", action="version", version=f"audit-console {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add in _COMMAND_PARSERS.items():
        if only is None or name == only:
            add(sub)
    return parser


def _add_demo(sub: Any) -> None:
    p = sub.add_parser("demo", help="open the console on a simulated guild (no token, no network)")
    p.add_argument("--db", type=Path, help=f"store for the demo (default: a fresh {paths.demo_db()})")
    p.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    p.add_argument("--rate", type=float, default=2.0, help="simulated entries per second (default 2)")


def _add_open(sub: Any) -> None:
    p = sub.add_parser("open", help="browse a store without connecting")
    _common(p, rest=False)


def _add_collecting(sub: Any, name: str, text: str) -> None:
    p = sub.add_parser(name, help=text)
    _common(p, token=True)
    p.add_argument("--guild", action="append", default=[], metavar="ID", help="guild to collect (repeatable)")


def _add_backfill(sub: Any) -> None:
    p = sub.add_parser("backfill", help="fetch what Discord still has since the last stored entry, then exit")
    _common(p, token=True)
    p.add_argument("--guild", action="append", default=[], metavar="ID", required=True, help="guild (repeatable)")


def _add_export(sub: Any) -> None:
    p = sub.add_parser("export", help="export records as CSV, JSON or JSON Lines")
    _common(p, rest=False)
    p.add_argument("--format", required=True, choices=("csv", "json", "jsonl"))
    p.add_argument("-o", "--out", default="-", help="output file, or - for standard output (default)")
    _filters(p)
    p.add_argument(
        "--query",
        metavar="QUERY",
        help="a search-bar query, e.g. 'actor:123 action:MEMBER_BAN_ADD since:7d \"raid\"' (ANDs with the flags)",
    )


def _add_report(sub: Any) -> None:
    p = sub.add_parser("report", help="what happened in a period: actions, denials, break-glass, alerts")
    _common(p, rest=False)
    p.add_argument("--since", metavar="WHEN", default="7d", help="start: 7d, 12h, 2w or a date/time (default 7d)")
    p.add_argument("--until", metavar="WHEN", help="end (default now); same forms as --since")
    p.add_argument("--guild", action="append", default=[], metavar="ID", help="only this guild (repeatable)")
    p.add_argument("--format", default="markdown", choices=("markdown", "json"), help="default markdown")
    p.add_argument("-o", "--out", default="-", help="output file, or - for standard output (default)")


def _add_verify(sub: Any) -> None:
    p = sub.add_parser("verify", help="check the store: SQLite's integrity and the hash chain (exit 0 ok, 1 not)")
    _common(p, rest=False)
    p.add_argument("--heads", action="store_true", help="also print each guild's last chain link (keep it elsewhere)")


def _add_prune(sub: Any) -> None:
    p = sub.add_parser("prune", help="remove records older than each guild's retention (config retention_days)")
    _common(p, rest=False)
    p.add_argument("--dry-run", action="store_true", help="only say what would be removed")


def _add_explain(sub: Any) -> None:
    p = sub.add_parser("explain", help="why a member may or may not do something (exit 0 allowed, 1 denied)")
    p.add_argument("--db", type=Path, help=f"the store whose guild state to use (default: {paths.default_db()})")
    p.add_argument("--config", type=Path, help=f"config file (default: {paths.config_file()})")
    p.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help='a guild snapshot as Discord\'s REST returns it: {"guild", "channels", "members"}',
    )
    p.add_argument("--policy", type=Path, metavar="FILE", help="policy file (default: the config's, else built-in)")
    p.add_argument("--guild", dest="guild_id", required=True, metavar="ID")
    p.add_argument("--member", required=True, metavar="ID")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--capability", metavar="NAME", help="e.g. roles.grant (the whole policy)")
    what.add_argument("--permission", metavar="NAME", help="e.g. MANAGE_ROLES (Discord's algorithm alone)")
    p.add_argument("--channel", metavar="ID", help="in this channel (default: guild-wide)")
    p.add_argument("--json", action="store_true", help='print {"allowed", "reason_code", "permissions", "path"}')


def _add_role(sub: Any) -> None:
    p = sub.add_parser("role", help="grant or revoke a role as the operator; exit 0 once seen applied")
    rsub = p.add_subparsers(dest="role_op", metavar="ACTION", parser_class=_Parser, required=True)
    for op in ("grant", "revoke"):
        rp = rsub.add_parser(op, help=f"{op} a role (checked by the policy, confirmed by observing the member)")
        _common(rp, token=True)
        rp.add_argument("--guild", dest="guild_id", required=True, metavar="ID")
        rp.add_argument("--member", required=True, metavar="ID")
        rp.add_argument("--role", required=True, metavar="ID")
        rp.add_argument("--reason", required=True, help="why (up to 512 characters; goes to Discord's audit log)")
        rp.add_argument(
            "--wait",
            type=float,
            default=120.0,
            metavar="SECONDS",
            help="how long to wait for confirmation (default 120; 0: hand in and exit)",
        )


def _add_policy(sub: Any) -> None:
    p = sub.add_parser("policy", help="check a policy file, or print the commented example")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=_Parser, required=True)
    psub.add_parser("example", help="print the commented example policy")
    pc = psub.add_parser("check", help="validate a policy file (exit 0 valid, 2 invalid) and print its version")
    pc.add_argument("file", type=Path)


def _add_sim(sub: Any) -> None:
    p = sub.add_parser("sim", help="run the simulated Discord alone and print the REST URL")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=2.0, help="entries per second (0: none)")


#: Each command's parser, in the order ``--help`` lists them.
_COMMAND_PARSERS: dict[str, Callable[[Any], None]] = {
    "demo": _add_demo,
    "open": _add_open,
    "run": lambda sub: _add_collecting(sub, "run", "open the console on a real guild"),
    "collect": lambda sub: _add_collecting(sub, "collect", "collect headless (for a server)"),
    "backfill": _add_backfill,
    "export": _add_export,
    "report": _add_report,
    "verify": _add_verify,
    "prune": _add_prune,
    "explain": _add_explain,
    "role": _add_role,
    "policy": _add_policy,
    "sim": _add_sim,
}


# -- helpers ---------------------------------------------------------------------------------------


def settings_from(args: argparse.Namespace) -> Settings:
    s = load(getattr(args, "config", None))
    if getattr(args, "db", None):
        s = s.with_(db=args.db.expanduser())
    if getattr(args, "rest_url", None):
        s = s.with_(rest_url=check_rest_url(args.rest_url))
    if getattr(args, "policy", None):
        s = s.with_(policy=args.policy.expanduser())
    guilds = getattr(args, "guild", None)
    if guilds:
        s = s.with_(guild_ids=tuple(parse_id(g, "--guild") for g in _split(guilds)))
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

    db = (args.db or paths.demo_db()).expanduser()
    if args.rate < 0 or args.rate > 10_000:
        raise ConfigError("--rate must be between 0 and 10000 entries per second")
    return run_demo(db, seed=args.seed, rate=args.rate, fresh=args.db is None)


def cmd_open(args: argparse.Namespace) -> int:
    from console.commands.screens import run_open

    settings = settings_from(args)
    return run_open(settings)


def cmd_run(args: argparse.Namespace) -> int:
    from console.commands.screens import run_live
    from console.config import load_token

    settings = settings_from(args)
    token = load_token(settings, args.token_file)
    return run_live(settings, token)


def cmd_collect(args: argparse.Namespace) -> int:
    from console.commands.collect import collect
    from console.config import load_token
    from console.services import check_policy

    settings = settings_from(args)
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
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from console.maintenance import run_verify

    return run_verify(settings_from(args).db, heads=args.heads)


def cmd_prune(args: argparse.Namespace) -> int:
    from console.maintenance import run_prune

    return run_prune(settings_from(args), dry_run=args.dry_run)


def cmd_explain(args: argparse.Namespace) -> int:
    from console.commands.explain import explain, show

    settings = settings_from(args)
    guild_id = parse_id(args.guild_id, "--guild")
    member_id = parse_id(args.member, "--member")
    channel_id = parse_id(args.channel, "--channel") if args.channel else None
    answer = explain(
        settings,
        guild_id,
        member_id,
        capability=args.capability,
        permission=args.permission,
        channel_id=channel_id,
        state=args.state,
    )
    show(answer, args.capability or args.permission.upper(), as_json=args.json)
    return EXIT_OK if answer.allowed else EXIT_FAILED


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
    logs.setup(paths.log_file(), stderr=True)
    return run_sim(port=args.port, seed=args.seed, rate=args.rate)


#: The commands that open the TUI (the garbage collector waits for their first frame).
SCREENS: Final = frozenset({"demo", "open", "run"})

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "open": cmd_open,
    "run": cmd_run,
    "collect": cmd_collect,
    "backfill": cmd_backfill,
    "export": cmd_export,
    "explain": cmd_explain,
    "verify": cmd_verify,
    "prune": cmd_prune,
    "report": cmd_report,
    "policy": cmd_policy,
    "role": cmd_role,
    "sim": cmd_sim,
}


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
    """The innermost subcommand's parser (``role grant``, ``export``), else the top one."""
    chosen = parser
    while True:
        subs = [a for a in chosen._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            return chosen
        name = getattr(args, subs[0].dest, None)
        if not isinstance(name, str) or name not in subs[0].choices:
            return chosen
        chosen = subs[0].choices[name]


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(words[0] if words and words[0] in _COMMAND_PARSERS else None)
    args, extra = parser.parse_known_args(words)
    if extra:
        # Said by the command's own parser, so the hint points at `audit-console export --help`.
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(extra)}")
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
