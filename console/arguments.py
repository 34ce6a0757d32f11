"""The command line's grammar: every command's flags and help (console/cli runs what it parses).
``build_parser(only)`` builds one command's parser alone: a screen's start does not pay for the
twenty it will not use."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from console import __version__, paths
from console.errors import EXIT_BAD_INPUT


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: {message} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


#: --db's help: a path or a URL, never with a password (console/model/location.py says why).
DB_HELP = (
    f"the store: a SQLite file (default: {paths.default_db()}) or a postgresql://user@host:port/dbname URL "
    "(the password from PGPASSWORD, ~/.pgpass, a service file or the config's password_file)"
)


def _common(p: argparse.ArgumentParser, *, rest: bool = True, token: bool = False) -> None:
    p.add_argument("--db", metavar="PATH_OR_URL", help=DB_HELP)
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
    screen's start does not pay for building twenty parsers it will not use)."""
    parser = _Parser(prog="audit-console", description="A terminal console for Discord moderators.")
    parser.add_argument("--version", action="version", version=f"audit-console {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add in COMMAND_PARSERS.items():
        if only is None or name == only:
            add(sub)
    return parser


def _add_demo(sub: Any) -> None:
    p = sub.add_parser("demo", help="open the console on a simulated guild (no token, no network)")
    p.add_argument(
        "--db",
        metavar="PATH_OR_URL",
        help=f"store for the demo: a file or a postgresql:// URL, used as it is (default: a fresh {paths.demo_db()})",
    )
    p.add_argument("--seed", type=int, default=1, help="scenario seed (default 1)")
    p.add_argument("--rate", type=float, default=2.0, help="simulated entries per second (default 2)")


def _add_open(sub: Any) -> None:
    p = sub.add_parser("open", help="browse a store without connecting")
    _common(p, rest=False)


def _add_serve(sub: Any) -> None:
    p = sub.add_parser("serve", help="the console in a browser tab, behind a login (loopback by default)")
    _common(p, rest=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free one)")
    p.add_argument("--demo", action="store_true", help="each tab gets the demo: a simulated guild of its own")
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="a TLS proxy is in front: allow a non-loopback bind, believe only [web] proxy's X-Forwarded-For",
    )
    p.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password on stdin and print the [web] password_hash line for the config, then exit",
    )


def _add_collecting(sub: Any, name: str, text: str) -> None:
    p = sub.add_parser(name, help=text)
    _common(p, token=True)
    p.add_argument("--guild", action="append", default=[], metavar="ID", help="guild to collect (repeatable)")
    p.add_argument("--shards", metavar="A-B", help="run only these shards of the bot (with --shard-count)")
    p.add_argument("--shard-count", metavar="N", help="the bot's total number of shards (with --shards)")


def _add_collect(sub: Any) -> None:
    _add_collecting(sub, "collect", "collect headless (for a server)")
    sub.choices["collect"].add_argument(
        "--standby-info",
        action="store_true",
        help="say which collector is active on a PostgreSQL store (host, pid, since, epoch) and exit",
    )


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
    p.add_argument("--db", metavar="PATH_OR_URL", help=f"the store whose guild state to use; {DB_HELP}")
    p.add_argument("--config", type=Path, help=f"config file (default: {paths.config_file()})")
    p.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help='a guild snapshot as Discord\'s REST returns it: {"guild", "channels", "members"}',
    )
    p.add_argument("--policy", type=Path, metavar="FILE", help="policy file (default: the config's, else built-in)")
    p.add_argument(
        "--token-file",
        type=Path,
        help="bot token (mode 600; else $DISCORD_TOKEN): asks Discord about a member the stored state lacks",
    )
    p.add_argument("--rest-url", help="Discord REST base URL (a simulator or proxy); default Discord's")
    p.add_argument("--guild", dest="guild_id", required=True, metavar="ID")
    p.add_argument("--member", required=True, metavar="ID")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--capability", metavar="NAME", help="e.g. roles.grant (the whole policy)")
    what.add_argument("--permission", metavar="NAME", help="e.g. MANAGE_ROLES (Discord's algorithm alone)")
    p.add_argument("--channel", metavar="ID", help="in this channel (default: guild-wide)")
    p.add_argument("--json", action="store_true", help='print {"allowed", "reason_code", "permissions", "path"}')


def _add_member(sub: Any) -> None:
    p = sub.add_parser("member", help="a member's story: names over time, standing, counts, newest records")
    p.add_argument("--db", metavar="PATH_OR_URL", help=DB_HELP)
    p.add_argument("--config", type=Path, help=f"config file (default: {paths.config_file()})")
    p.add_argument("--guild", dest="guild_id", required=True, metavar="ID", help="the guild")
    p.add_argument("member", metavar="MEMBER_ID", help="the member's Discord user id")
    p.add_argument("--limit", type=int, default=20, metavar="N", help="newest records of their timeline (default 20)")
    p.add_argument("--json", action="store_true", help="print it as one JSON object")


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


def _add_team(sub: Any) -> None:
    p = sub.add_parser("team", help="a team on one PostgreSQL store: database roles and who each login acts as")
    tsub = p.add_subparsers(dest="team_op", metavar="ACTION", parser_class=_Parser, required=True)
    tp = tsub.add_parser(
        "init", help="create the roles audit_collector / audit_moderator / audit_viewer and grant them"
    )
    tp.add_argument("url", nargs="?", metavar="URL", help="the store (default: --db, else the config's db)")
    tp = tsub.add_parser("add-moderator", help="let a PostgreSQL login act, as the Discord user given")
    tp.add_argument("login", metavar="LOGIN")
    tp.add_argument("--discord-id", required=True, metavar="ID", help="the Discord user this login acts as")
    for op, what in (("add-viewer", "let a login read only"), ("add-collector", "let a login collect (write history)")):
        tp = tsub.add_parser(op, help=what)
        tp.add_argument("login", metavar="LOGIN")
    tp = tsub.add_parser("remove", help="take a login out of the team")
    tp.add_argument("login", metavar="LOGIN")
    tsub.add_parser("list", help="the team: login, role, Discord id")
    for tp in tsub.choices.values():
        _common(tp, rest=False)


def _add_policy(sub: Any) -> None:
    p = sub.add_parser("policy", help="check a policy file, or print the commented example")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=_Parser, required=True)
    psub.add_parser("example", help="print the commented example policy")
    pc = psub.add_parser("check", help="validate a policy file (exit 0 valid, 2 invalid) and print its version")
    pc.add_argument("file", type=Path)


def _add_invite_url(sub: Any) -> None:
    p = sub.add_parser("invite-url", help="print the link that adds the bot to a server with the permissions it needs")
    p.add_argument("--config", type=Path, help=f"config file (default: {paths.config_file()})")
    p.add_argument("--rest-url", help="Discord REST base URL (a simulator or proxy); default Discord's")
    p.add_argument("--token-file", type=Path, help="file holding the bot token (mode 600); else $DISCORD_TOKEN")


def _add_doctor(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check the bot's setup: token, intent, guilds, permissions (exit 0 all well)")
    _common(p)
    p.add_argument("--token-file", type=Path, help="file holding the bot token (mode 600); else $DISCORD_TOKEN")
    p.add_argument(
        "--guild", action="append", default=[], metavar="ID", help="guild to check (repeatable; default: the config's)"
    )


def _add_sim(sub: Any) -> None:
    p = sub.add_parser("sim", help="run the simulated Discord alone and print the REST URL")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free one)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rate", type=float, default=2.0, help="entries per second (0: none)")
    p.add_argument(
        "--misconfigure",
        action="append",
        default=[],
        metavar="WHAT",
        help="set the guild up wrongly, to see `doctor` say so: intent, perms, hierarchy, commands, channel "
        "(repeatable, or comma-separated)",
    )


def _add_migrate(sub: Any) -> None:
    p = sub.add_parser("migrate", help="copy a whole store between SQLite and PostgreSQL (resumable), then verify both")
    p.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL", help="the store to copy")
    p.add_argument(
        "--to",
        dest="target",
        required=True,
        metavar="PATH_OR_URL",
        help="an empty store (or this copy's unfinished one)",
    )


#: Each command's parser, in the order ``--help`` lists them.
COMMAND_PARSERS: dict[str, Callable[[Any], None]] = {
    "demo": _add_demo,
    "open": _add_open,
    "serve": _add_serve,
    "run": lambda sub: _add_collecting(sub, "run", "open the console on a real guild"),
    "collect": _add_collect,
    "backfill": _add_backfill,
    "export": _add_export,
    "report": _add_report,
    "verify": _add_verify,
    "prune": _add_prune,
    "explain": _add_explain,
    "member": _add_member,
    "role": _add_role,
    "team": _add_team,
    "policy": _add_policy,
    "sim": _add_sim,
    "invite-url": _add_invite_url,
    "doctor": _add_doctor,
    "migrate": _add_migrate,
}


def command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace) -> argparse.ArgumentParser:
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
