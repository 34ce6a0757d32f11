"""The commands that open the console: ``open`` (browse a store), ``run`` (collect from a real
guild) and ``demo`` (the simulated guild). Here the runtime or the demo is put together with the
app (console/ui/launch), which imports neither."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from console.config import Settings
from console.model.location import StoreLocation
from console.secret import REDACTOR, Secret
from console.store import AuditStore
from console.ui.launch import run_app


def open_options(settings: Settings) -> dict[str, Any]:
    """How ``open`` opens the console (:func:`console.ui.launch.prepare_console`'s options)."""
    return {
        "readonly": True,
        "label": f"{settings.db.name} (offline)",
        "services_factory": lambda store: _offline_services(store, settings),
        "team_services": lambda store: _team_services(store, settings),
        "operator_id": settings.operator_id,
        "password_file": settings.password_file,
        "zone": settings.zone(),
    }


def run_open(settings: Settings) -> int:
    return asyncio.run(run_app(settings.db, alert_bell=settings.alerts.bell, **open_options(settings)))


def _offline_services(store: AuditStore, settings: Settings) -> Any:
    """Browsing offline: the gatekeeper answers explain from the stored guild state."""
    from console.policy.document import PolicyError
    from console.services import Services

    try:
        return Services(store, settings)
    except PolicyError:
        return None  # explain says it has no policy; browsing does not need one


def _team_services(store: AuditStore, settings: Settings) -> Any:
    """A moderator's console on a team store: the gatekeeper decides from the stored guild state,
    and an allowed role change is a request the team's active collector carries out."""
    services = _offline_services(store, settings)
    if services is not None:
        services.hand_off()
    return services


def live_options(settings: Settings, token: Secret) -> dict[str, Any]:
    """How ``run`` opens the console (:func:`console.ui.launch.prepare_console`'s options)."""
    from console.commands.doctor import CheckedRuntime

    return {
        "readonly": False,
        "label": "live",
        "session_factory": lambda store: CheckedRuntime(store, settings, token),
        "team_services": lambda store: _team_services(store, settings),
        "operator_id": settings.operator_id,
        "password_file": settings.password_file,
        "zone": settings.zone(),
    }


def run_live(settings: Settings, token: Secret) -> int:
    REDACTOR.add(token)
    from console.services import check_policy

    check_policy(settings)
    return asyncio.run(run_app(settings.db, alert_bell=settings.alerts.bell, **live_options(settings, token)))


def demo_options(db: StoreLocation, *, seed: int, rate: float) -> dict[str, Any]:
    """How ``demo`` opens the console (:func:`console.ui.launch.prepare_console`'s options)."""
    from console.demo import DemoSession

    settings = Settings(db=db)
    return {
        "readonly": False,
        "label": "demo guild",
        "session_factory": lambda store: DemoSession(store, settings, seed=seed, rate=rate),
    }


def run_demo(db: StoreLocation, *, seed: int, rate: float, fresh: bool) -> int:
    from console.demo import start_afresh

    if fresh and isinstance(db, Path):
        start_afresh(db)
    return asyncio.run(run_app(db, alert_bell=Settings(db=db).alerts.bell, **demo_options(db, seed=seed, rate=rate)))
