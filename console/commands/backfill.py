"""``audit-console backfill``: fetch what Discord still has since the last stored entry, then exit."""

from __future__ import annotations

from console.config import Settings
from console.errors import ConfigError, Failure
from console.secret import REDACTOR, Secret
from console.store import open_store


async def backfill(settings: Settings, token: Secret) -> int:
    from console.discord.rest import RestSession
    from console.ingest.backfill import Backfiller

    REDACTOR.add(token)
    store = await open_store(settings.db, password_file=settings.password_file)
    failed: list[str] = []
    blocked = 0
    try:
        async with RestSession(token.reveal(), settings.rest_url) as source:
            backfiller = Backfiller(store, source)
            for gid in settings.guild_ids:
                result = await backfiller.run(gid, "manual", live_until=await store.live_until(gid))
                if result.blocked:  # the line names the guild and the permission to give
                    failed.append(f"{result.gap.error}")
                    blocked += 1
                elif result.gap.status == "failed":
                    failed.append(f"guild {gid}: backfill failed: {result.gap.error}")
                else:
                    print(f"guild {gid}: {result.gap.describe()} ({result.pages} pages)")
    finally:
        await store.close()
    if failed and blocked == len(failed):
        raise ConfigError("; ".join(failed))  # a permission to give: a setup mistake, exit 2
    if failed:
        raise Failure("; ".join(failed))
    return 0
