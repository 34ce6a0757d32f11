"""The two failures every command can end with, each one line on stderr. Their own module so the
face (console/cli) and everything it calls (config, the commands, the report schedule) can raise
them without importing each other."""


class ConfigError(Exception):
    """Bad input from a person: one line, exit code 2."""


class Failure(Exception):
    """A runtime failure with a one-line message (exit 1)."""
