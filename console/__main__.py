"""`python -m console` is the same as the `audit-console` command."""

from console.cli import entry

if __name__ == "__main__":
    raise SystemExit(entry())
