"""The policy engine: every reason code, every precedence rule, expiry, and the invariants."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.policy.document import parse_policy
from console.policy.engine import BreakGlassSession, Request, UnknownCapability, evaluate
from console.policy.resolver import can_manage_role, resolve

from .guilds import GUILD, OWNER, bits, guild, member, role

NOW = 1_800_000_000_000
MOD, HELPER, ADMIN, TARGET, HIGH = 11, 12, 13, 14, 15
U_MOD, U_HELPER, U_ADMIN, U_PLAIN, U_BOTH, U_BOTH_REV = 201, 202, 203, 204, 205, 206

G = guild(
    roles=[
        role(MOD, "Moderator", 5, "MANAGE_ROLES", "VIEW_AUDIT_LOG"),
        role(HELPER, "Helper", 3),
        role(ADMIN, "Admin", 8, "ADMINISTRATOR"),
        role(TARGET, "Verified", 1),
        role(HIGH, "Council", 9),
    ],
    members=[
        member(U_MOD, MOD),
        member(U_HELPER, HELPER),
        member(U_ADMIN, ADMIN),
        member(U_PLAIN),
        member(U_BOTH, MOD, HELPER),
        member(U_BOTH_REV, HELPER, MOD),
    ],
)

POLICY = parse_policy(
    f"""
admin_bypass = true

[break_glass]
max_minutes = 30
lifts_discord_gate = false

[[grants]]
role = "{MOD}"
capability = "roles.grant"
effect = "ALLOW"
priority = 10

[[grants]]
role = "{HELPER}"
capability = "roles.grant"
effect = "ALLOW"
priority = 10

[[grants]]
role = "{HELPER}"
capability = "roles.revoke"
effect = "DENY"
priority = 20

[[grants]]
role = "{MOD}"
capability = "roles.revoke"
effect = "ALLOW"
priority = 10

[[grants]]
role = "{MOD}"
capability = "console.export"
effect = "ALLOW"
priority = 5

[[grants]]
role = "{HELPER}"
capability = "console.export"
effect = "DENY"
priority = 5

[[grants]]
role = "{GUILD}"
capability = "audit.configure"
effect = "DENY"
priority = 1

[[overrides]]
user = "{U_MOD}"
capability = "console.export"
effect = "DENY"
reason = "on leave"

[[overrides]]
user = "{U_PLAIN}"
capability = "policy.break_glass"
effect = "ALLOW"
reason = "on-call this week"
expires = "2030-01-01T00:00:00Z"

[[overrides]]
user = "{U_HELPER}"
capability = "policy.break_glass"
effect = "ALLOW"
reason = "last week's on-call"
expires = "2020-01-01T00:00:00Z"
""".encode(),
    "test-policy.toml",
)


def decide(uid: int, cap: str, *, role_id: int | None = None, policy=POLICY, session=None, g=G):
    return evaluate(
        policy,
        g,
        Request(uid, cap, "role" if role_id else "guild", role_id, None, role_id),
        now_ms=NOW,
        break_glass=session,
    )


ACTIVE = BreakGlassSession(U_PLAIN, NOW - 60_000, NOW + 60_000)


@pytest.mark.parametrize(
    ("uid", "cap", "role_id", "session", "allowed", "code", "deciding"),
    [
        # BREAK_GLASS: allows, but the Discord gate still applies unless the policy lifts it.
        (U_PLAIN, "policy.break_glass", None, ACTIVE, True, "BREAK_GLASS", "break_glass"),
        (U_PLAIN, "roles.grant", TARGET, ACTIVE, False, "DISCORD_GATE_DENIED", "discord_gate"),
        # ADMIN_BYPASS: the owner and ADMINISTRATOR holders, hierarchy still checked by the gate.
        (U_ADMIN, "roles.grant", TARGET, None, True, "ADMIN_BYPASS", "admin_bypass"),
        (OWNER, "roles.grant", HIGH, None, True, "ADMIN_BYPASS", "admin_bypass"),
        (U_ADMIN, "roles.grant", HIGH, None, False, "DISCORD_GATE_DENIED", "discord_gate"),
        # Overrides beat grants; an ALLOW override that expired is ignored.
        (U_MOD, "console.export", None, None, False, "OVERRIDE_DENY", "override"),
        (U_PLAIN, "policy.break_glass", None, None, True, "OVERRIDE_ALLOW", "override"),
        (U_HELPER, "policy.break_glass", None, None, False, "NO_GRANT", "no_grant"),
        # RBAC: the highest priority decides; DENY wins at equal priority; @everyone grants count.
        (U_MOD, "roles.grant", TARGET, None, True, "RBAC_GRANT_ALLOW", "rbac"),
        (U_BOTH, "roles.revoke", TARGET, None, False, "RBAC_GRANT_DENY", "rbac"),
        (U_PLAIN, "audit.configure", None, None, False, "RBAC_GRANT_DENY", "rbac"),
        # DEFAULT_PUBLIC and NO_GRANT.
        (U_PLAIN, "policy.explain", None, None, True, "DEFAULT_PUBLIC", "default_public"),
        (U_PLAIN, "roles.grant", TARGET, None, False, "NO_GRANT", "no_grant"),
        # The Discord gate: a grant without MANAGE_ROLES, and a role ranked above the person.
        (U_HELPER, "roles.grant", TARGET, None, False, "DISCORD_GATE_DENIED", "discord_gate"),
        (U_MOD, "roles.grant", HIGH, None, False, "DISCORD_GATE_DENIED", "discord_gate"),
        (U_MOD, "roles.grant", MOD, None, False, "DISCORD_GATE_DENIED", "discord_gate"),
    ],
)
def test_reason_codes(uid, cap, role_id, session, allowed, code, deciding):
    v = decide(uid, cap, role_id=role_id, session=session)
    assert (v.allowed, v.reason_code) == (allowed, code), v.path
    assert v.deciding_step.step == deciding
    assert v.deciding_step.outcome == v.result
    assert v.policy_version == POLICY.version


def test_equal_priority_deny_wins_whatever_the_order():
    # Whatever the order of the grants in the file and of the roles on the member.
    for grants in ((("ALLOW", MOD), ("DENY", HELPER)), (("DENY", HELPER), ("ALLOW", MOD))):
        text = "".join(
            f'[[grants]]\nrole = "{r}"\ncapability = "console.export"\neffect = "{e}"\npriority = 3\n'
            for e, r in grants
        )
        for uid in (U_BOTH, U_BOTH_REV):
            v = decide(uid, "console.export", policy=parse_policy(text.encode()))
            assert v.reason_code == "RBAC_GRANT_DENY"
            assert "DENY wins" in v.deciding_step.found


def test_a_higher_priority_allow_beats_a_lower_deny():
    text = (
        f'[[grants]]\nrole = "{MOD}"\ncapability = "console.export"\neffect = "ALLOW"\npriority = 9\n'
        f'[[grants]]\nrole = "{HELPER}"\ncapability = "console.export"\neffect = "DENY"\npriority = 2\n'
    )
    assert decide(U_BOTH, "console.export", policy=parse_policy(text.encode())).reason_code == "RBAC_GRANT_ALLOW"


def test_deny_override_beats_allow_override():
    text = "".join(
        f'[[overrides]]\nuser = "{U_MOD}"\ncapability = "console.export"\neffect = "{e}"\nreason = "x"\n'
        for e in ("ALLOW", "DENY")
    )
    assert decide(U_MOD, "console.export", policy=parse_policy(text.encode())).reason_code == "OVERRIDE_DENY"


def test_override_expiry_is_exact_to_the_millisecond():
    text = (
        f'[[overrides]]\nuser = "{U_PLAIN}"\ncapability = "policy.break_glass"\neffect = "ALLOW"\n'
        f'reason = "x"\nexpires = 2027-01-15T08:00:00Z\n'
    ).encode()
    p = parse_policy(text)
    expires = p.overrides[0].expires_ms
    req = Request(U_PLAIN, "policy.break_glass")
    assert evaluate(p, G, req, now_ms=expires - 1).reason_code == "OVERRIDE_ALLOW"
    after = evaluate(p, G, req, now_ms=expires)
    assert after.reason_code == "NO_GRANT"
    assert "1 expired" in after.path[2]["found"]


def test_break_glass_expiry_falls_through_to_the_rules():
    expired = BreakGlassSession(U_PLAIN, NOW - 120_000, NOW)
    v = decide(U_PLAIN, "roles.grant", role_id=TARGET, session=expired)
    assert v.reason_code == "NO_GRANT"
    assert v.path[0]["step"] == "break_glass"
    assert v.path[0]["found"].startswith("expired at")


def test_break_glass_can_lift_the_gate_when_the_policy_says_so():
    lifted = parse_policy(b"[break_glass]\nlifts_discord_gate = true\n")
    v = decide(U_PLAIN, "roles.grant", role_id=TARGET, policy=lifted, session=ACTIVE)
    assert (v.allowed, v.reason_code) == (True, "BREAK_GLASS")
    assert v.path[-1]["step"] == "discord_gate"
    assert "lifted" in v.path[-1]["found"]
    off = parse_policy(b"[break_glass]\nenabled = false\n")
    assert decide(U_PLAIN, "roles.grant", role_id=TARGET, policy=off, session=ACTIVE).reason_code == "NO_GRANT"


def test_admin_bypass_off_leaves_admins_to_the_rules():
    p = parse_policy(b"admin_bypass = false\n")
    v = decide(U_ADMIN, "roles.grant", role_id=TARGET, policy=p)
    assert v.reason_code == "NO_GRANT"
    assert v.actor.admin
    assert not v.actor.owner


def test_the_path_lists_every_step_up_to_the_deciding_one():
    v = decide(U_HELPER, "roles.grant", role_id=TARGET)
    assert [s["step"] for s in v.path] == ["break_glass", "admin_bypass", "override", "rbac", "discord_gate"]
    assert [s["decided"] for s in v.path] == [False, False, False, True, True]
    assert "lacks MANAGE_ROLES" in v.path[-1]["found"]
    assert v.path[-1]["detail"], "the resolver's own steps explain the gate"


def test_unknown_capability_is_an_error():
    with pytest.raises(UnknownCapability, match="roles.grantt"):
        decide(U_MOD, "roles.grantt")


# -- invariants over generated policies -------------------------------------------------------------

ROLES = [MOD, HELPER, ADMIN, TARGET, HIGH, GUILD]
CAPS = ["roles.grant", "roles.revoke", "console.export", "policy.explain", "policy.break_glass", "audit.configure"]
USERS = [U_MOD, U_HELPER, U_ADMIN, U_PLAIN, U_BOTH, U_BOTH_REV, OWNER]

grant_st = st.tuples(
    st.sampled_from(ROLES), st.sampled_from(CAPS), st.sampled_from(["ALLOW", "DENY"]), st.integers(0, 2)
)
override_st = st.tuples(
    st.sampled_from(USERS),
    st.sampled_from(CAPS),
    st.sampled_from(["ALLOW", "DENY"]),
    st.sampled_from([None, NOW - 1, NOW + 1]),
)


def _policy(grants, overrides, admin_bypass, lifts):
    from console.model.times import iso_utc

    text = f"admin_bypass = {str(admin_bypass).lower()}\n[break_glass]\nlifts_discord_gate = {str(lifts).lower()}\n"
    for r, c, e, p in grants:
        text += f'[[grants]]\nrole = "{r}"\ncapability = "{c}"\neffect = "{e}"\npriority = {p}\n'
    for u, c, e, x in overrides:
        text += f'[[overrides]]\nuser = "{u}"\ncapability = "{c}"\neffect = "{e}"\nreason = "r"\n'
        if x is not None:
            text += f'expires = "{iso_utc(x)}"\n'
    return parse_policy(text.encode())


@settings(max_examples=300, deadline=None)
@given(
    grants=st.lists(grant_st, max_size=8),
    overrides=st.lists(override_st, max_size=4),
    admin_bypass=st.booleans(),
    lifts=st.booleans(),
    uid=st.sampled_from(USERS),
    cap=st.sampled_from(CAPS),
    role_id=st.sampled_from([None, TARGET, MOD, HIGH]),
    glass=st.booleans(),
)
def test_invariants(grants, overrides, admin_bypass, lifts, uid, cap, role_id, glass):
    p = _policy(grants, overrides, admin_bypass, lifts)
    session = BreakGlassSession(uid, NOW - 10, NOW + 10) if glass else None
    v = decide(uid, cap, role_id=role_id, policy=p, session=session)
    member_roles = {GUILD, *G.members[uid].roles}
    above_rules = glass or (admin_bypass and (uid == OWNER or v.actor.admin))

    # The last deciding step is the answer, and it is the only DENY or the last ALLOW in the path.
    assert v.deciding_step.outcome == v.result

    # An active explicit DENY override is never overridden by anything below it.
    live_deny = any(u == uid and c == cap and e == "DENY" and (x is None or x > NOW) for u, c, e, x in overrides)
    if live_deny and not above_rules:
        assert (v.allowed, v.reason_code) == (False, "OVERRIDE_DENY")

    # A DENY grant at the top priority among the person's grants is never overridden by a lower ALLOW.
    mine = [(prio, e) for r, c, e, prio in grants if c == cap and r in member_roles]
    live_override = any(u == uid and c == cap and (x is None or x > NOW) for u, c, e, x in overrides)
    if mine and not above_rules and not live_override:
        top = max(prio for prio, _ in mine)
        if any(e == "DENY" for prio, e in mine if prio == top):
            assert (v.allowed, v.reason_code) == (False, "RBAC_GRANT_DENY")

    # An ALLOW never survives a failed Discord gate (unless break-glass lifts it, by policy).
    capability = p.capabilities[cap]
    held = resolve(G, uid, None, now_ms=NOW, explain=False).permissions
    gate_fails = (capability.discord_permission and not held & bits(capability.discord_permission)) or (
        capability.hierarchy and role_id is not None and not can_manage_role(G, uid, role_id)[0]
    )
    if gate_fails and not (glass and lifts):
        assert not v.allowed
