"""The two failures every command can end with, each one line on stderr, and the exit codes.
Their own module so the face (console/cli) and everything it calls (config, the commands, the
report schedule) can raise them without importing each other."""

#: 0 success; 1 a runtime failure (Discord unreachable, a failed backfill); 2 bad input.
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class ConfigError(Exception):
    """Bad input from a person: one line, exit code 2."""


class Failure(Exception):
    """A runtime failure with a one-line message (exit 1)."""
