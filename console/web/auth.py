"""Who may use a served console: the one-time login link, the password (its scrypt hash lives in
the config), the session cookie and the limit on failed logins. Pure: no web framework here, so
each rule is checked on its own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable

#: scrypt's cost: about 50 ms and 16 MiB per check on this machine's class of CPU, so a guessed
#: password costs an attacker the same (and the rate limit caps guesses anyway).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_PREFIX = "scrypt"


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64): what ``[web] password_hash`` in the config holds."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join((_PREFIX, str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)))


def check_hash_shape(stored: str) -> str | None:
    """Why ``stored`` is not a hash :func:`hash_password` makes, or None."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _PREFIX or not all(p.isdigit() for p in parts[1:4]):
        return "password_hash must be what `audit-console serve --hash-password` prints (scrypt$…)"
    try:
        _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return "password_hash is damaged (its salt or hash is not base64)"
    return None


def verify_password(password: str, stored: str) -> bool:
    if check_hash_shape(stored) is not None:
        return False
    _, n, r, p, salt, digest = stored.split("$")
    expected = _unb64(digest)
    return hmac.compare_digest(_scrypt(password, _unb64(salt), int(n), int(r), int(p)), expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (ValueError, TypeError) as e:
        raise ValueError(str(e)) from None
    if not data:
        raise ValueError("empty")
    return data


class CookieSigner:
    """Session cookies ``expiry.nonce.mac``, signed with a key that lives only as long as this
    serve: restarting it logs everybody out, and nothing secret is stored anywhere."""

    def __init__(self, lifetime_s: float, clock: Callable[[], float] = time.time, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)
        self.lifetime_s = lifetime_s
        self._clock = clock

    def issue(self) -> str:
        body = f"{int(self._clock() + self.lifetime_s)}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._mac(body)}"

    def valid(self, value: str | None) -> bool:
        if not value or value.count(".") != 2:
            return False
        body, _, mac = value.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(body)):
            return False
        expiry = body.split(".", 1)[0]
        return expiry.isdigit() and int(expiry) > self._clock()

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


class LoginLink:
    """The link printed at start (``/?token=…``): good once, then spent."""

    def __init__(self) -> None:
        self.token: str | None = secrets.token_urlsafe(32)

    def redeem(self, offered: str) -> bool:
        token = self.token
        if token is None or not hmac.compare_digest(offered.encode(), token.encode()):
            return False
        self.token = None
        return True


class FailedLogins:
    """At most ``limit`` failed logins per address in ``window_s``; more are refused unchecked
    (a password guess costs a scrypt, and guessing the link's 256 bits is hopeless anyway)."""

    def __init__(self, limit: int = 5, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.limit

    def failed(self, address: str) -> None:
        if len(self._failures) > 10_000:  # forget addresses gone quiet: memory stays bounded
            self._failures = {a: f for a, f in self._failures.items() if self._prune(f)}
        self._recent(address).append(self._clock())

    def _recent(self, address: str) -> deque[float]:
        return self._prune(self._failures.setdefault(address, deque()))

    def _prune(self, failures: deque[float]) -> deque[float]:
        cutoff = self._clock() - self.window_s
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures
