"""Policy benchmark (issue 4; not collected by pytest). Run as a file::

    python tests/bench/bench_policy.py [--n 20000]

A guild with 250 roles, a member holding 20 of them, a channel with 100 overwrites, a policy with
grants on many roles and a few overrides: the median time of one full evaluation (RBAC and the
Discord gate in that channel, hierarchy included), with and without the explained path, against a
bare dict-lookup loop timed in the same run. Goal: ≤ 50 µs median.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from console.model.permissions import FLAGS  # noqa: E402
from console.policy.document import parse_policy  # noqa: E402
from console.policy.engine import Request, evaluate  # noqa: E402
from console.policy.guild import GuildSnapshot  # noqa: E402

GUILD, OWNER, ACTOR, CHANNEL = 10**17, 10**17 + 1, 10**17 + 2, 10**17 + 3


def build(rng: random.Random) -> tuple[GuildSnapshot, object, list[int]]:
    bits = list(FLAGS)
    role_ids = [GUILD + 1000 + i for i in range(250)]
    roles = [{"id": str(GUILD), "name": "@everyone", "position": 0, "permissions": str(1 << 10 | 1 << 11)}]
    for pos, rid in enumerate(role_ids, start=1):
        perms = sum(1 << b for b in rng.sample(bits, 3) if b != 3)  # no ADMINISTRATOR: the long path
        roles.append({"id": str(rid), "name": f"r{pos}", "position": pos, "permissions": str(perms)})
    mine = sorted(rng.sample(role_ids[100:], 20))
    roles[role_ids.index(mine[-1]) + 1]["permissions"] = str(1 << 28 | 1 << 10)  # MANAGE_ROLES on the top one
    members = [
        {"user": {"id": str(u), "username": f"u{u % 100}"}, "roles": [str(r) for r in rs]}
        for u, rs in ((OWNER, []), (ACTOR, mine))
    ]
    members += [
        {"user": {"id": str(GUILD + 5000 + i), "username": f"m{i}"}, "roles": [str(r) for r in rng.sample(role_ids, 5)]}
        for i in range(200)
    ]
    overwrites = [{"id": str(GUILD), "type": 0, "allow": "0", "deny": str(1 << 11)}]
    overwrites += [
        {"id": str(rid), "type": 0, "allow": str(1 << rng.choice(bits)), "deny": str(1 << rng.choice(bits))}
        for rid in rng.sample(role_ids, 79)
    ]
    overwrites += [{"id": str(GUILD + 5000 + i), "type": 1, "allow": "0", "deny": str(1 << 15)} for i in range(20)]
    channel = {"id": str(CHANNEL), "name": "mod-log", "type": 0, "parent_id": None, "permission_overwrites": overwrites}
    assert len(overwrites) == 100
    guild = GuildSnapshot.from_rest(
        {
            "guild": {"id": str(GUILD), "name": "bench", "owner_id": str(OWNER), "roles": roles},
            "channels": [channel],
            "members": members,
        }
    )
    text = "".join(
        f'[[grants]]\nrole = "{rid}"\ncapability = "roles.grant"\neffect = "{rng.choice(["ALLOW", "DENY"])}"'
        f"\npriority = {rng.randint(0, 5)}\n"
        for rid in rng.sample(role_ids, 120)
    )
    text += f'[[grants]]\nrole = "{mine[-1]}"\ncapability = "roles.grant"\neffect = "ALLOW"\npriority = 9\n'
    text += "".join(
        f'[[overrides]]\nuser = "{GUILD + 5000 + i}"\ncapability = "roles.grant"\neffect = "DENY"\nreason = "r"\n'
        for i in range(30)
    )
    return guild, parse_policy(text.encode()), role_ids


def timed(fn, n: int) -> float:
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - t)
    return statistics.median(samples) / 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    args = ap.parse_args()
    guild, policy, role_ids = build(random.Random(7))
    request = Request(ACTOR, "roles.grant", "role", role_ids[50], CHANNEL, role_ids[50])
    v = evaluate(policy, guild, request, now_ms=0)
    assert v.allowed, (v.reason_code, v.path)
    assert v.reason_code == "RBAC_GRANT_ALLOW", (v.reason_code, v.path)

    table = {rid: i for i, rid in enumerate(role_ids)}
    keys = role_ids[:20]

    def bare() -> None:  # the baseline: 20 dict lookups, what any permission check must at least do
        for k in keys:
            table[k]

    for _ in range(2000):  # warm up
        evaluate(policy, guild, request, now_ms=0)
        bare()
    base = timed(bare, args.n)
    full = timed(lambda: evaluate(policy, guild, request, now_ms=0), args.n)
    fast = timed(lambda: evaluate(policy, guild, request, now_ms=0, explain=False), args.n)

    def cold() -> None:  # the snapshot's wording cache emptied: the first check after a change
        guild._explained.clear()
        evaluate(policy, guild, request, now_ms=0)

    first = timed(cold, args.n)
    print(f"{'what':<52} {'median':>9} {'ratio':>7}  goal")
    print(f"{'bare loop: 20 dict lookups':<52} {base:>7.2f}µs {1:>7.1f}")
    print(
        f"{'evaluate + gate in channel, explained (as recorded)':<52} {full:>7.2f}µs {full / base:>7.1f}  <= 50 µs "
        f"{'MET' if full <= 50 else 'NOT MET'}"
    )
    print(
        f"{'evaluate + gate in channel, path without detail':<52} {fast:>7.2f}µs {fast / base:>7.1f}  <= 50 µs "
        f"{'MET' if fast <= 50 else 'NOT MET'}"
    )
    print(
        f"{'  the same, explained, first time after a change':<52} {first:>7.2f}µs {first / base:>7.1f}  <= 50 µs "
        f"{'MET' if first <= 50 else 'NOT MET'}"
    )
    print("(250 roles, member with 20, channel with 100 overwrites, 121 grants, 30 overrides)")


if __name__ == "__main__":
    main()
