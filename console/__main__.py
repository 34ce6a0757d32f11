"""`python -m console` is the same as the `audit-console` command."""

from console.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
