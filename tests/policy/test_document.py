"""The policy file: the shipped example loads, bad files name the line and the reason, versions are
hashes, and a bad edit leaves the previous policy in force."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from console.policy.document import BUILTIN_CAPABILITIES, PolicyError, default_policy, parse_policy
from console.policy.policy_file import PolicyFile

EXAMPLE = Path(__file__).parents[2] / "console" / "policy" / "example.toml"


def test_the_shipped_example_is_valid_and_uses_every_section():
    p = parse_policy(EXAMPLE.read_bytes(), str(EXAMPLE))
    assert p.grants
    assert p.overrides
    assert set(BUILTIN_CAPABILITIES) <= set(p.capabilities)
    assert p.break_glass.max_minutes <= 1440


def test_builtin_capabilities_and_default():
    d = default_policy()
    assert d.admin_bypass
    assert not d.grants
    assert set(d.capabilities) == {
        "roles.grant",
        "roles.revoke",
        "console.export",
        "policy.explain",
        "policy.break_glass",
        "audit.configure",
        "notes.write",
    }
    assert d.capabilities["roles.grant"].discord_permission == "MANAGE_ROLES"
    assert d.capabilities["roles.grant"].hierarchy
    assert d.capabilities["policy.explain"].default_public


def test_version_is_a_hash_of_the_bytes():
    a = parse_policy(b"admin_bypass = true\n")
    b = parse_policy(b"admin_bypass = true\n")
    c = parse_policy(b"admin_bypass = true \n")
    assert a.version == b.version != c.version
    assert len(a.version) == 16


BAD = [
    ("admin_bypass = \n", 1, "Invalid value"),
    ("admin_bypass = 1\n", 1, "admin_bypass must be true or false"),
    ("colour = 'red'\n", 1, "unknown setting 'colour'"),
    ('# c\n\n[[grants]]\nrole = "12"\ncapability = "roles.grant"\neffect = "MAYBE"\n', 6, "effect must be"),
    ('[[grants]]\nrole = "12"\ncapability = "roles.grnt"\neffect = "ALLOW"\n', 3, "unknown capability 'roles.grnt'"),
    (
        '[[grants]]\nrole = "12"\ncapability = "roles.grant"\neffect = "ALLOW"\n'
        '[[grants]]\nrole = "abc"\ncapability = "roles.grant"\neffect = "ALLOW"\n',
        6,
        "grants[1].role: 'abc'",
    ),
    ('[[grants]]\ncapability = "roles.grant"\neffect = "ALLOW"\n', 1, "grants[0].role is missing"),
    (
        '[[grants]]\nrole = "12"\ncapability = "roles.grant"\neffect = "ALLOW"\npriority = 1.5\n',
        5,
        "priority must be a whole number",
    ),
    (
        '[[overrides]]\nuser = "12"\ncapability = "roles.grant"\neffect = "DENY"\nreason = "x"\n'
        "expires = 2026-12-01T00:00:00\n",
        6,
        "needs a time zone",
    ),
    ('[[overrides]]\nuser = "12"\ncapability = "roles.grant"\neffect = "DENY"\n', 1, "reason: say why"),
    (
        '[[overrides]]\nuser = "12"\ncapability = "roles.grant"\neffect = "DENY"\nreason = "x"\nexpires = "soon"\n',
        6,
        "'soon' is not a date",
    ),
    ('[capabilities."roles.grant"]\nrisk = "extreme"\n', 2, "risk must be one of"),
    ('[capabilities."mod.kick"]\nrisk = "high"\ndiscord_permission = "KICK"\n', 3, "'KICK' is not a Discord"),
    ('[capabilities."mod.kick"]\nrisk = "high"\nwho = 1\n', 3, "unknown setting 'who'"),
    ('[capabilities.Kick]\nrisk = "high"\n', 1, "must look like area.action"),
    ("[break_glass]\nmax_minutes = 0\n", 2, "max_minutes must be 1 to 1440"),
    ("[break_glass]\nlifts = true\n", 2, "unknown setting 'lifts'"),
]


@pytest.mark.parametrize(("text", "line", "reason"), BAD)
def test_invalid_files_name_the_line_and_the_reason(text, line, reason):
    with pytest.raises(PolicyError) as e:
        parse_policy(text.encode(), "policy.toml")
    message = str(e.value)
    assert message.startswith(f"policy.toml:{line}: "), message
    assert reason in message
    assert "\n" not in message


def test_not_utf8():
    with pytest.raises(PolicyError, match="not UTF-8"):
        parse_policy(b"admin_bypass = \xff\n", "p.toml")


def test_a_custom_capability_is_usable_in_grants():
    p = parse_policy(
        b'[capabilities."mod.kick"]\nrisk = "high"\ndiscord_permission = "KICK_MEMBERS"\n'
        b'[[grants]]\nrole = "5"\ncapability = "mod.kick"\neffect = "ALLOW"\n'
    )
    assert p.capabilities["mod.kick"].discord_permission == "KICK_MEMBERS"
    assert p.grants_by_capability["mod.kick"][5][0].effect == "ALLOW"


def _touch(path: Path, text: str, bump: int) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))  # mtime resolution


def test_reload_on_change_and_keep_the_previous_on_error(tmp_path):
    f = tmp_path / "policy.toml"
    _touch(f, "admin_bypass = true\n", 0)
    pf = PolicyFile(f)
    first = pf.policy.version
    assert pf.check() is None, "unchanged: nothing to do"

    _touch(f, "admin_bypass = false\n", 1)
    reload = pf.check()
    assert reload is not None
    assert reload.version == pf.policy.version != first
    assert pf.policy.admin_bypass is False

    _touch(f, "admin_bypass = nope\n", 2)
    reload = pf.check()
    assert reload is not None
    assert reload.error
    assert f"{f}:1:" in reload.error
    assert "stays in force" in reload.error
    assert pf.policy.admin_bypass is False
    assert pf.last_error

    f.unlink()
    reload = pf.check()
    assert reload is not None
    assert "no such policy file" in (reload.error or "")
    assert pf.policy.admin_bypass is False


def test_a_bad_file_at_start_is_an_error_not_the_default(tmp_path):
    f = tmp_path / "policy.toml"
    f.write_text("[[grants]]\n")
    with pytest.raises(PolicyError, match="grants\\[0\\].role is missing"):
        PolicyFile(f)
    with pytest.raises(PolicyError, match="no such policy file"):
        PolicyFile(tmp_path / "missing.toml")
