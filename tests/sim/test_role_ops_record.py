"""``sim.role_ops_applied``: the simulator's own record of the role changes it applied (the crash
fault case compares the console against it). A dropped op is not in it, even when it logged an
audit entry; a no-op is not in it; a delayed op is in it once it lands."""

from __future__ import annotations

import hikari
from sim_helpers import eventually

from console.sim import SimServer


async def test_only_applied_role_ops_are_recorded(sim: SimServer, rest: hikari.api.RESTClient) -> None:
    g = sim.guild
    uid = g.regular_ids()[0]
    rid = next(r for r in g.assignable_role_ids() if r not in g.members[uid]["roles"])

    sim.knobs.role_drop_probability = 1.0  # 204, audit entry logged, never applied
    await rest.add_role_to_member(sim.guild_id, uid, rid, reason="dropped")
    assert g.audit_log[-1]["reason"] == "dropped"
    assert sim.role_ops_applied == []

    sim.knobs.role_drop_probability = 0.0
    sim.knobs.role_delay_probability, sim.knobs.role_delay_s = 1.0, 0.2
    await rest.add_role_to_member(sim.guild_id, uid, rid, reason="late [request 7]")
    assert sim.role_ops_applied == []
    await eventually(lambda: sim.role_ops_applied, within=3, what="the delayed op applied")
    assert sim.role_ops_applied == [(uid, rid, True, "late [request 7]")]

    sim.knobs.role_delay_probability = 0.0
    await rest.add_role_to_member(sim.guild_id, uid, rid)  # already has it: no change, not recorded
    await rest.remove_role_from_member(sim.guild_id, uid, rid, reason="off")
    assert sim.role_ops_applied[1:] == [(uid, rid, False, "off")]
