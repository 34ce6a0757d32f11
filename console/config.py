"""Settings from the config file (TOML), the environment and flags, in that order of strength
(flags win). Every problem is a :class:`ConfigError` with one line naming the file and key."""

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Self
from urllib.parse import urlparse

from console import paths
from console.alerts.settings import AlertSettings, AlertSettingsError
from console.alerts.settings import parse as parse_alerts
from console.errors import ConfigError
from console.model import snowflake, times
from console.model.location import LocationError, StoreLocation, parse_location
from console.model.retention import Retention, RetentionError
from console.model.shards import ShardError, ShardGroup
from console.secret import Secret, check_token_shape, read_secret_file
from console.web.settings import WebSettings, WebSettingsError
from console.web.settings import parse as parse_web

if TYPE_CHECKING:
    from console.reports.schedule import ReportSchedule

DISCORD_REST_URL = "https://discord.com/api/v10"


class _Fields(NamedTuple):
    db: StoreLocation
    """The store: a SQLite file (default: console.paths.default_db(), as the Settings are made) or
    a PostgreSQL database (a ``postgresql://`` URL without a password; console.model.location)."""
    rest_url: str = DISCORD_REST_URL
    """Discord's REST base (a simulator or proxy for tests)."""
    guild_ids: tuple[int, ...] = ()
    """Guilds to collect; empty means every guild the bot is in."""
    operator_id: int | None = None
    """The Discord user the TUI and CLI act as (a guard against mistakes, not authentication)."""
    token_file: Path | None = None
    """A file holding the bot token (must be readable by its owner only)."""
    theme: str | None = None
    """The console's theme; remembered when changed in the TUI."""
    recheck_interval_s: float = 300.0
    """How often to re-read the newest page (Discord updates some entries in place)."""
    policy: Path | None = None
    """The policy file (TOML); default ``policy.toml`` beside the config, else the built-in policy."""
    retention: Retention = Retention()
    """How long each guild's records are kept (``retention_days`` and the ``[retention]`` table)."""
    alerts: AlertSettings = AlertSettings()
    """Alert rules, thresholds, bell and channel (the ``[alerts]`` table; defaults in console/alerts)."""
    reports: "ReportSchedule | None" = None
    """Scheduled reports wherever a collector runs (the ``[reports]`` table: every, folder, channel)."""
    member_cache: int = 10_000
    """Members kept per guild for the policy's Discord gate; others are fetched one by one when needed."""
    password_file: Path | None = None
    """A file holding the PostgreSQL password (mode 600, as the token file); read when the store opens."""
    timezone: str | None = None
    """The IANA zone (``Europe/Paris``) every time the console shows is in; None: the system's.
    Exports, reports files and JSON are UTC whatever it says."""
    shards: ShardGroup | None = None
    """The shards this collector runs (``shards`` and ``shard_count``); None: every shard hikari
    is told to start (Discord's recommended count), as an unsharded bot."""
    web: WebSettings = WebSettings()
    """``audit-console serve``'s login, TLS and session cap (the ``[web]`` table; console/web/settings)."""


class Settings(_Fields):
    """Everything a command runs with: defaults, then the config file, then flags (the fields:
    ``_Fields``). A NamedTuple, as console.model's records are: immutable and cheap to define at
    start; ``with_`` makes a changed copy."""

    __slots__ = ()

    def __new__(cls, db: StoreLocation | None = None, *args: Any, **kwargs: Any) -> Self:
        # The default store's place is read when the settings are made (the environment may
        # point XDG_DATA_HOME elsewhere by then), not once at import.
        return super().__new__(cls, paths.default_db() if db is None else db, *args, **kwargs)

    def policy_path(self) -> Path | None:
        if self.policy is not None:
            return self.policy
        default = paths.policy_file()
        return default if default.exists() else None

    def with_(self, **changes: Any) -> Self:
        return self._replace(**{k: v for k, v in changes.items() if v is not None})

    def zone(self) -> dt.tzinfo | None:
        """The zone the console shows times in (None: the system's); checked when loaded."""
        return times.zone(self.timezone) if self.timezone else None


def _snowflake(value: Any, where: str) -> int:
    text = value.strip() if isinstance(value, str) else value
    if isinstance(text, bool) or not (
        isinstance(text, int) or (isinstance(text, str) and text.isascii() and text.isdigit())
    ):
        raise ConfigError(f"{where}: expected a Discord id (digits), got {value!r}")
    n = snowflake.parse(text)  # the range every stored id is held to
    if n is None:
        raise ConfigError(f"{where}: {value!r} is not a Discord id")
    return n


def db_location(text: str, where: str = "--db") -> StoreLocation:
    """A store's location from ``--db`` or the config's ``db``; ConfigError with one line
    prefixed with ``where`` (a password in a URL is refused in both places)."""
    try:
        return parse_location(text)
    except LocationError as e:
        raise ConfigError(f"{where}: {e}") from None


def shard_group(shards: Any, count: Any, where: str, names: tuple[str, str] = ("shards", "shard_count")) -> ShardGroup:
    """The shards to run: both given or neither (hikari takes shard ids only with their count);
    ConfigError with one line."""
    if shards is None or count is None:
        given, missing = names if shards is not None else names[::-1]
        raise ConfigError(f"{where}: {given} needs {missing} too (both or neither)")
    try:
        return ShardGroup.parse(shards, count, f"{where}: {names[0]}")
    except ShardError as e:
        raise ConfigError(str(e)) from None


def parse_id(value: str, what: str = "id") -> int:
    """A Discord id from a flag; ConfigError with one line otherwise."""
    return _snowflake(value, what)


def check_rest_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"bad --rest-url {url!r}: expected http(s)://host[:port]/api/v10")
    try:
        parsed.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(f"bad --rest-url {url!r}: the port is not a number from 1 to 65535") from None
    return url.rstrip("/")


def load(path: Path | None = None) -> Settings:
    """Settings from the config file, if there is one."""
    file = path or paths.config_file()
    if not file.exists():
        if path is not None:
            raise ConfigError(f"no config file at {file}")
        return Settings()
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"cannot read config {file}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {file} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config {file}: {e}") from None
    known = set(Settings._fields)
    for key in data:
        if key not in known and key not in ("retention_days", "shard_count"):
            raise ConfigError(f"config {file}: unknown setting {key!r}")
    s = Settings()
    out: dict[str, Any] = {}
    where = f"config {file}"
    if "db" in data:
        if not isinstance(data["db"], str):
            raise ConfigError(f"{where}: db must be a path or a postgresql:// URL (a string)")
        out["db"] = db_location(data["db"], f"{where}: db")
    if "password_file" in data:
        if not isinstance(data["password_file"], str) or not data["password_file"].strip():
            raise ConfigError(f"{where}: password_file must be a path string")
        out["password_file"] = Path(data["password_file"]).expanduser()
    if "rest_url" in data:
        out["rest_url"] = check_rest_url(str(data["rest_url"]))
    if "guild_ids" in data:
        if not isinstance(data["guild_ids"], list):
            raise ConfigError(f"{where}: guild_ids must be a list of ids")
        out["guild_ids"] = tuple(_snowflake(g, f"{where}: guild_ids") for g in data["guild_ids"])
    if "operator_id" in data:
        out["operator_id"] = _snowflake(data["operator_id"], f"{where}: operator_id")
    if "token_file" in data:
        out["token_file"] = Path(str(data["token_file"])).expanduser()
    if "policy" in data:
        if not isinstance(data["policy"], str):
            raise ConfigError(f"{where}: policy must be a path string")
        out["policy"] = Path(data["policy"]).expanduser()
    if "theme" in data:
        if not isinstance(data["theme"], str):
            raise ConfigError(f"{where}: theme must be a string")
        out["theme"] = data["theme"]
    if "recheck_interval_s" in data:
        v = data["recheck_interval_s"]
        if isinstance(v, bool) or not isinstance(v, int | float) or v < 10:
            raise ConfigError(f"{where}: recheck_interval_s must be a number of seconds ≥ 10")
        out["recheck_interval_s"] = float(v)
    if "retention_days" in data or "retention" in data:
        try:
            out["retention"] = Retention.parse(data.get("retention_days"), data.get("retention"), where)
        except RetentionError as e:
            raise ConfigError(str(e)) from None
    if "alerts" in data:
        try:
            out["alerts"] = parse_alerts(data["alerts"], where)
        except AlertSettingsError as e:
            raise ConfigError(str(e)) from None
    if "reports" in data:
        out["reports"] = _reports(data["reports"], where)
    if "shards" in data or "shard_count" in data:
        out["shards"] = shard_group(data.get("shards"), data.get("shard_count"), where)
    if "timezone" in data:
        name = data["timezone"]
        if not isinstance(name, str):
            raise ConfigError(f"{where}: timezone must be an IANA zone name such as Europe/Paris (a string)")
        try:
            times.zone(name)
        except ValueError as e:
            raise ConfigError(f"{where}: timezone {e}") from None
        out["timezone"] = name
    if "web" in data:
        try:
            out["web"] = parse_web(data["web"], where)
        except WebSettingsError as e:
            raise ConfigError(str(e)) from None
    if "member_cache" in data:
        v = data["member_cache"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 10:
            raise ConfigError(f"{where}: member_cache must be a whole number of members ≥ 10")
        out["member_cache"] = v
    return s._replace(**out)


def _reports(data: Any, where: str) -> "ReportSchedule":
    """The ``[reports]`` table; ConfigError with one line for anything wrong."""
    from console.reports.schedule import EVERY, ReportSchedule

    if not isinstance(data, dict):
        raise ConfigError(f"{where}: reports must be a table ([reports])")
    for key in data:
        if key not in ("every", "folder", "channel"):
            raise ConfigError(f"{where}: unknown setting reports.{key}")
    every = data.get("every")
    if every not in EVERY:
        raise ConfigError(f'{where}: reports.every must be "weekly" or "monthly", got {every!r}')
    folder = data.get("folder")
    if folder is not None and (not isinstance(folder, str) or not folder.strip()):
        raise ConfigError(f"{where}: reports.folder must be a path string")
    channel = data.get("channel")
    if channel is not None:
        if isinstance(channel, bool) or not isinstance(channel, str | int):
            raise ConfigError(f"{where}: reports.channel must be a channel id (digits)")
        channel = parse_id(str(channel), f"{where}: reports.channel")
    if folder is None and channel is None:
        raise ConfigError(f"{where}: reports needs a folder, a channel, or both")
    return ReportSchedule(every, Path(folder).expanduser() if folder else None, channel)


def read_token_file(path: Path) -> Secret:
    """A token file must be a regular file owned by us and unreadable by others (like ssh keys)."""
    return read_secret_file(path, "token file")


def load_token(settings: Settings, token_file: Path | None = None) -> Secret:
    """The bot token: systemd credential, token file, or ``DISCORD_TOKEN`` — never a flag."""
    token: Secret | None = None
    cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    chosen = token_file or settings.token_file
    if chosen is not None:
        token = read_token_file(chosen)
    elif cred_dir and (Path(cred_dir) / "discord_token").exists():
        token = read_token_file(Path(cred_dir) / "discord_token")
    elif os.environ.get("DISCORD_TOKEN"):
        token = Secret(os.environ["DISCORD_TOKEN"])
    if token is None:
        raise ConfigError("no token: set DISCORD_TOKEN or pass --token-file PATH (a file only you can read)")
    problem = check_token_shape(token)
    if problem:
        raise ConfigError(problem)
    return token
