"""The ``[web]`` table of the config: what ``audit-console serve`` needs beyond its flags. Every
bad value is one line naming the key (the CLI turns it into exit 2)."""

from pathlib import Path
from typing import Any, NamedTuple

from console.web.auth import check_hash_shape


class WebSettingsError(ValueError):
    """A bad ``[web]`` value; console.config re-raises it as a ConfigError (one line)."""


class WebSettings(NamedTuple):
    password_hash: str | None = None
    """scrypt hash of the login page's password (``audit-console serve --hash-password``); without
    one, only the one-time link printed at start logs in."""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    """Both or neither: HTTPS, which a bind beyond loopback needs (unless ``--behind-proxy``)."""
    max_sessions: int = 4
    """Tabs served at once (each is a console process); one more closes the longest idle."""
    session_hours: float = 12.0
    """How long a login lasts (the cookie's lifetime; a restart of serve also ends every login)."""
    proxy: str = "127.0.0.1"
    """With ``--behind-proxy``: the one address whose X-Forwarded-For is believed."""


def parse(data: Any, where: str) -> WebSettings:
    if not isinstance(data, dict):
        raise WebSettingsError(f"{where}: web must be a table ([web])")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in WebSettings._fields:
            raise WebSettingsError(f"{where}: unknown setting web.{key}")
        if key == "password_hash":
            problem = check_hash_shape(value) if isinstance(value, str) else "password_hash must be a string"
            if problem:
                raise WebSettingsError(f"{where}: web.{problem}")
            out[key] = value
        elif key in ("tls_cert", "tls_key", "proxy"):
            if not isinstance(value, str) or not value.strip():
                raise WebSettingsError(f"{where}: web.{key} must be a non-empty string")
            out[key] = value.strip() if key == "proxy" else Path(value).expanduser()
        elif key == "max_sessions":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
                raise WebSettingsError(f"{where}: web.max_sessions must be a whole number from 1 to 100")
            out[key] = value
        else:  # session_hours
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 24 * 30:
                raise WebSettingsError(f"{where}: web.session_hours must be a number of hours, at most 720")
            out[key] = float(value)
    if ("tls_cert" in out) != ("tls_key" in out):
        raise WebSettingsError(f"{where}: web.tls_cert and web.tls_key go together (both or neither)")
    return WebSettings(**out)
