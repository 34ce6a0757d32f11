"""The policy in force, reloaded when its file changes. An invalid new version is reported and the
previous one stays in force (a typo must not open or close every door at once)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from console.policy.document import Policy, PolicyError, default_policy, load_policy


@dataclass(frozen=True, slots=True)
class Reload:
    """What a :meth:`PolicyFile.check` found: a new version, or a problem (the old one stays)."""

    version: str | None = None
    error: str | None = None


class PolicyFile:
    def __init__(self, path: Path | None) -> None:
        """``path`` None: the built-in default. A missing or invalid file raises PolicyError here,
        at start, so a bad file is never silently replaced by the default."""
        self.path = path
        self.policy: Policy = load_policy(path) if path is not None else default_policy()
        self._stamp = self._stat()
        self.last_error: str | None = None

    def _stat(self) -> tuple[int, int] | None:
        if self.path is None:
            return None
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def check(self) -> Reload | None:
        """Reload if the file changed since the last look; None when nothing changed."""
        if self.path is None:
            return None
        stamp = self._stat()
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            policy = load_policy(self.path)
        except PolicyError as e:
            self.last_error = str(e)
            return Reload(error=f"{e} — policy {self.policy.version} stays in force")
        self.last_error = None
        if policy.version == self.policy.version:
            return None
        self.policy = policy
        return Reload(version=policy.version)
