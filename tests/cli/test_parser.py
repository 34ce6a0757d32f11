"""A command's start builds only its own parser (console.arguments.build_parser(only=...)): what it accepts and
says must be what the whole command line's parser accepts and says."""

from __future__ import annotations

import contextlib
import io

import pytest

from console import arguments, cli


def _help(parser: object, argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        parser.parse_args(argv)  # type: ignore[attr-defined]
    return out.getvalue()


@pytest.mark.parametrize("command", list(arguments.COMMAND_PARSERS))
def test_a_commands_own_parser_is_the_one_in_the_whole_command_line(command: str) -> None:
    whole, alone = cli.build_parser(), cli.build_parser(command)
    assert _help(alone, [command, "--help"]) == _help(whole, [command, "--help"])
    assert list(alone._subparsers._group_actions[0].choices) == [command]  # type: ignore[union-attr]


def test_every_command_is_in_the_whole_command_lines_help() -> None:
    text = cli.build_parser().format_help()
    assert all(f"    {command}" in text for command in arguments.COMMAND_PARSERS)
