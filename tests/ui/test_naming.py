"""The one rule that names a person (console/model/naming.py) and where its two names come from
(console/ingest/names.py)."""

from __future__ import annotations

from console.ingest.names import names_from_dispatch, names_from_guild
from console.model.naming import member_label, person


def test_the_display_name_with_the_username_where_they_differ() -> None:
    assert member_label("Salty Nebula", "cosmic_otter34") == "Salty Nebula (cosmic_otter34)"
    assert member_label("cosmic_otter34", "cosmic_otter34") == "cosmic_otter34"
    assert member_label("Cosmic_Otter34", "cosmic_otter34") == "Cosmic_Otter34", "case alone is no second name"
    assert member_label(None, "cosmic_otter34") == "cosmic_otter34"
    assert member_label("Salty Nebula", None) == "Salty Nebula"
    assert member_label(None, None) is None


def test_each_name_is_sanitised_and_clamped_on_its_own() -> None:
    """A long or hostile display name never hides the username."""
    label = member_label("[b]x[/b]\u202e" + "n" * 100, "otter\x1b]52", max_len=20)
    assert label == "[b]x[/b]<U+202E>nnn… (otter\\x1b]52)"


def test_the_cache_names_a_person_by_both_kinds() -> None:
    names = {("member", 1): "Salty Nebula", ("user", 1): "cosmic_otter34", ("user", 2): "brave_tofu44"}

    def name_of(kind: str, ident: int) -> str | None:
        return names.get((kind, ident))

    assert person(name_of, 1) == "Salty Nebula (cosmic_otter34)"
    assert person(name_of, 2) == "brave_tofu44"
    assert person(name_of, 2, recorded="Brave Tofu") == "Brave Tofu (brave_tofu44)", "the name a decision kept"
    assert person(name_of, 3) is None
    assert person(name_of, None) is None


def test_member_payloads_give_the_guilds_display_name() -> None:
    """Nick, else global name, else username: as Discord's client shows a member."""
    user = {"id": "1", "username": "cosmic_otter34", "global_name": "Cosmic"}
    update = {"guild_id": "9", "user": user, "nick": "Salty Nebula", "roles": []}
    assert names_from_dispatch("GUILD_MEMBER_UPDATE", update) == {
        "user": [(1, "cosmic_otter34")],
        "member": [(1, "Salty Nebula")],
    }
    guild = {
        "id": "9",
        "name": "g",
        "members": [
            {"user": user, "nick": None},
            {"user": {"id": "2", "username": "brave_tofu44", "global_name": None}},
        ],
    }
    assert names_from_guild(guild)["member"] == [(1, "Cosmic"), (2, "brave_tofu44")]
