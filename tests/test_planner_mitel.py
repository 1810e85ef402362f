"""Mitel ordering: renumber first, add-ons the file drops before the Swap (dependents
first), add-ons it adds after the Swap (requirements first); losses on downgrades."""

from __future__ import annotations

import pytest
from plan_builders import (
    MITEL,
    actual,
    au,
    cost_of,
    desired,
    du,
    money_of,
    plan_of,
    rows,
    steps_add_up,
)

from reconciler.model import Policy

ALLOW = Policy(allow_downgrade=True)


def test_upgrade_swap_has_no_nrc() -> None:
    p = plan_of(desired(MITEL, du(1003, "essentials", add_ons=[])),
                actual(MITEL, au(1003, "telephony")))
    assert rows(p) == [
        ("s1", "change_profile", 1003, {"profile": "telephony", "add_ons": []},
         {"profile": "essentials", "add_ons": []}, ()),
    ]
    assert p.steps[0].label == "Swap"
    assert p.steps[0].warnings == ()
    assert money_of(p) == [("s1", "7.00", "0.00")]
    assert cost_of(p) == ("15.00", "22.00", "7.00", "0.00")


def test_downgrade_swap_drops_what_the_new_profile_does_not_allow() -> None:
    d = desired(MITEL, du(1006, "standard", add_ons=["call-recording", "recording-archive"],
                          allow_downgrade=True))
    a = actual(MITEL, au(1006, "advanced",
                         add_ons=["call-recording", "recording-archive", "contact-center"]))
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "change_profile", 1006,
         {"profile": "advanced",
          "add_ons": ["call-recording", "contact-center", "recording-archive"]},
         {"profile": "standard", "add_ons": ["call-recording", "recording-archive"]}, ()),
    ]
    assert p.steps[0].warnings == (
        "downgrade of 1006 from Advanced CLOUD to Standard CLOUD loses add-on Contact Center "
        "Agent and included feature Video Meetings",)
    assert money_of(p) == [("s1", "-40.00", "0.00")]
    assert cost_of(p) == ("78.00", "38.00", "-40.00", "0.00")
    assert p.blocked == ()


def test_downgrade_to_courtesy_names_every_loss_and_the_data() -> None:
    d = desired(MITEL, du(1004, "courtesy", add_ons=[]), policy=ALLOW)
    p = plan_of(d, actual(MITEL, au(1004, "telephony", add_ons=["call-recording"])))
    assert rows(p)[0][3:5] == ({"profile": "telephony", "add_ons": ["call-recording"]},
                               {"profile": "courtesy", "add_ons": []})
    assert p.steps[0].warnings == (
        "downgrade of 1004 from Telephony CLOUD to Courtesy CLOUD loses add-on Call Recording "
        "and included feature Voicemail",
        "data lost: stored call recordings, stored voicemail messages of 1004",
    )
    assert money_of(p) == [("s1", "-16.00", "0.00")]


def test_add_ons_the_file_drops_go_before_the_swap_dependents_first() -> None:
    d = desired(MITEL, du(1002, "advanced", add_ons=[]))
    a = actual(MITEL, au(1002, "standard", add_ons=["call-recording", "recording-archive"]))
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "remove_addon", 1002, {"add_on": "recording-archive"}, {}, ()),
        ("s2", "remove_addon", 1002, {"add_on": "call-recording"}, {}, ("s1",)),
        ("s3", "change_profile", 1002, {"profile": "standard", "add_ons": []},
         {"profile": "advanced", "add_ons": []}, ("s1", "s2")),
    ]
    assert [s.label for s in p.steps] == ["Disable Add-On", "Disable Add-On", "Swap"]
    assert p.steps[0].warnings == ("data lost: archived call recordings of 1002",)
    assert money_of(p) == [("s1", "-3.00", "0.00"), ("s2", "-6.00", "0.00"),
                           ("s3", "10.00", "0.00")]
    assert steps_add_up(p)


def test_add_ons_the_file_adds_go_after_the_swap_requirements_first() -> None:
    d = desired(MITEL, du(1003, "standard", add_ons=["recording-archive", "call-recording"]))
    p = plan_of(d, actual(MITEL, au(1003, "essentials")))
    assert rows(p) == [
        ("s1", "change_profile", 1003, {"profile": "essentials", "add_ons": []},
         {"profile": "standard", "add_ons": []}, ()),
        ("s2", "add_addon", 1003, {}, {"add_on": "call-recording"}, ("s1",)),
        ("s3", "add_addon", 1003, {}, {"add_on": "recording-archive"}, ("s1", "s2")),
    ]
    assert money_of(p) == [("s1", "7.00", "0.00"), ("s2", "6.00", "0.00"),
                           ("s3", "3.00", "0.00")]
    assert cost_of(p) == ("22.00", "38.00", "16.00", "0.00")


def test_add_on_without_swap() -> None:
    p = plan_of(desired(MITEL, du(1002, "standard", add_ons=["fax", "teams-integration"])),
                actual(MITEL, au(1002, "standard", add_ons=["fax"])))
    assert rows(p) == [("s1", "add_addon", 1002, {}, {"add_on": "teams-integration"}, ())]
    # Teams integration: a one-time set-up charge, nothing monthly
    assert money_of(p) == [("s1", "0.00", "25.00")]
    assert cost_of(p) == ("33.00", "33.00", "0.00", "25.00")


def test_new_user_pays_its_profiles_nrc_and_its_add_ons_one_time() -> None:
    d = desired(MITEL, du(1007, "standard", add_ons=["teams-integration", "fax"],
                          name="Frank Foster"))
    p = plan_of(d, actual(MITEL))
    assert rows(p) == [
        ("s1", "create_user", 1007, {},
         {"extension": 1007, "name": "Frank Foster", "profile": "standard",
          "add_ons": ["fax", "teams-integration"]}, ()),
    ]
    assert money_of(p) == [("s1", "33.00", "45.00")]
    assert cost_of(p) == ("0.00", "33.00", "33.00", "45.00")


def test_deleted_user_stops_its_profile_and_add_ons() -> None:
    p = plan_of(desired(MITEL, du(1002, absent=True)),
                actual(MITEL, au(1002, "standard", add_ons=["fax"], name="Bob")))
    assert rows(p) == [
        ("s1", "delete_user", 1002, {"extension": 1002, "name": "Bob", "profile": "standard",
                                     "add_ons": ["fax"]}, {}, ()),
    ]
    assert money_of(p) == [("s1", "-33.00", "0.00")]


def test_unmanaged_add_ons_dropped_by_a_downgrade_are_warned_and_leave_the_bill() -> None:
    d = desired(MITEL, du(1001, "standard"), policy=ALLOW)  # add_ons not managed
    p = plan_of(d, actual(MITEL, au(1001, "advanced", add_ons=["contact-center", "fax"])))
    assert rows(p) == [
        ("s1", "change_profile", 1001,
         {"profile": "advanced", "add_ons": ["contact-center", "fax"]},
         {"profile": "standard", "add_ons": ["fax"]}, ()),
    ]
    assert "loses add-on Contact Center Agent" in p.steps[0].warnings[0]
    assert cost_of(p) == ("73.00", "33.00", "-40.00", "0.00")
    assert steps_add_up(p)


def test_renumber_first_then_the_users_steps() -> None:
    d = desired(MITEL, du(1010, "advanced", add_ons=["fax"], renumbered_from=1001, name="Ann"))
    a = actual(MITEL, au(1001, "standard", name="Anne"))
    assert rows(plan_of(d, a)) == [
        ("s1", "renumber_user", 1001, {"extension": 1001}, {"extension": 1010}, ()),
        ("s2", "change_profile", 1010, {"profile": "standard", "add_ons": []},
         {"profile": "advanced", "add_ons": []}, ("s1",)),
        ("s3", "add_addon", 1010, {}, {"add_on": "fax"}, ("s2",)),
        ("s4", "update_user", 1010, {"name": "Anne"}, {"name": "Ann"}, ("s1",)),
    ]


def test_renumber_chain_waits_for_the_extension_to_be_free() -> None:
    d = desired(MITEL, du(1002, "standard", renumbered_from=1001),
                du(1003, "standard", renumbered_from=1002))
    a = actual(MITEL, au(1001, "standard"), au(1002, "standard"))
    assert [r[1:] for r in rows(plan_of(d, a))] == [
        ("renumber_user", 1002, {"extension": 1002}, {"extension": 1003}, ()),
        ("renumber_user", 1001, {"extension": 1001}, {"extension": 1002}, ("s1",)),
    ]


def test_field_edit() -> None:
    p = plan_of(desired(MITEL, du(1002, email="bob@new.example")),
                actual(MITEL, au(1002, "standard", email="bob@old.example")))
    assert rows(p) == [("s1", "update_user", 1002, {"email": "bob@old.example"},
                        {"email": "bob@new.example"}, ())]
    assert p.steps[0].label == "Edit User"


@pytest.mark.parametrize(("have", "want", "monthly"), [
    ("courtesy", "advanced", "34.00"),
    ("advanced", "telephony", "-24.00"),
    ("standard", "essentials", "-7.00"),
])
def test_swap_delta_is_the_profile_price_difference(have: str, want: str, monthly: str) -> None:
    p = plan_of(desired(MITEL, du(1001, want), policy=ALLOW), actual(MITEL, au(1001, have)))
    assert money_of(p) == [("s1", monthly, "0.00")]
    assert steps_add_up(p)


def test_a_remove_still_required_by_what_only_the_swap_drops_waits_for_the_swap() -> None:
    # telephony allows call-recording but not recording-archive: the swap drops the archive,
    # and only then may call-recording go
    d = desired(MITEL, du(1003, "telephony", add_ons=[]), policy=ALLOW)
    a = actual(MITEL, au(1003, "standard", add_ons=["call-recording", "recording-archive"]))
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "change_profile", 1003,
         {"profile": "standard", "add_ons": ["call-recording", "recording-archive"]},
         {"profile": "telephony", "add_ons": ["call-recording"]}, ()),
        ("s2", "remove_addon", 1003, {"add_on": "call-recording"}, {}, ("s1",)),
    ]
    assert p.steps[0].warnings == (
        "downgrade of 1003 from Standard CLOUD to Telephony CLOUD loses add-on Recording "
        "Archive and included features Audio Conferencing, Mobility (Connect mobile app)",
        "data lost: archived call recordings of 1003",
    )
    assert money_of(p) == [("s1", "-17.00", "0.00"), ("s2", "-6.00", "0.00")]
    assert steps_add_up(p)


# ------------------------------------------------- steps name the user they touch


def test_a_pruned_users_delete_names_that_user_not_the_one_taking_its_extension() -> None:
    # Cy C at 1003 is pruned; Ann A takes 1003 (renumbered from 1001): the delete runs
    # first and deletes Cy C, so it must say Cy C
    d = desired(MITEL, du(1003, "standard", renumbered_from=1001, name="Ann A"),
                policy=Policy(prune=True, allow_downgrade=True))
    a = actual(MITEL, au(1001, "standard", name="Ann A"), au(1003, "standard", name="Cy C"))
    plan = plan_of(d, a, force=True)
    assert [(s.action, s.user, s.name) for s in plan.steps] == [
        ("delete_user", 1003, "Cy C"),
        ("renumber_user", 1001, "Ann A"),  # runs on the user at 1001 now
    ]


def test_a_renumber_names_the_extension_the_user_has_when_it_runs() -> None:
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001, name="Ann"),
                du(1001, "standard", name="Bo New"))
    a = actual(MITEL, au(1001, "standard", name="Ann"))
    steps = plan_of(d, a).steps
    (renumber,) = [s for s in steps if s.action == "renumber_user"]
    assert (renumber.user, renumber.before, renumber.after, renumber.name) == (
        1001, {"extension": 1001}, {"extension": 1010}, "Ann")
    (create,) = [s for s in steps if s.action == "create_user"]
    assert (create.user, create.name, create.depends_on) == (1001, "Bo New", (renumber.id,))


# ------------------------------------------------- recordings lost are a loss


def _verdicts(plan) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(v.policy, v.message) for v in plan.blocked if v.blocking]


@pytest.mark.parametrize("add_on", ["call-recording", "recording-archive"])
def test_removing_recordings_is_a_loss_gated_like_a_downgrade(add_on: str) -> None:
    keep = [a for a in ("call-recording", "recording-archive") if a != add_on]
    if add_on == "call-recording":
        keep = []  # the archive needs call-recording: both go
    d = desired(MITEL, du(1006, "standard", add_ons=keep))
    a = actual(MITEL, au(1006, "standard", add_ons=["call-recording", "recording-archive"]))
    plan = plan_of(d, a)
    removes = [s for s in plan.steps if s.action == "remove_addon"]
    assert removes and all(s.warnings and s.warnings[0].startswith("data lost: ")
                           for s in removes)
    (verdict,) = _verdicts(plan)
    assert verdict[0] == "data-loss"
    assert verdict[1].startswith("data loss not allowed: 1006 (")
    assert "recordings" in verdict[1]
    allowed = desired(MITEL, du(1006, "standard", add_ons=keep, allow_downgrade=True))
    assert _verdicts(plan_of(allowed, a)) == []
    assert _verdicts(plan_of(d, a, allow_downgrade=True)) == []


def test_deleting_a_user_with_recordings_names_the_loss_and_needs_the_allow() -> None:
    d = desired(MITEL, du(1004, absent=True))
    a = actual(MITEL, au(1004, "telephony", add_ons=["call-recording"]))
    plan = plan_of(d, a)
    (delete,) = plan.steps
    assert delete.warnings == ("data lost: stored call recordings of 1004",)
    assert _verdicts(plan) == [(
        "data-loss", "data loss not allowed: 1004 (stored call recordings); set "
        "allow_downgrade: true on the user or in the account's policy, or pass "
        "--allow-downgrade")]
    assert _verdicts(plan_of(desired(MITEL, du(1004, absent=True, allow_downgrade=True)),
                             a)) == []
    plain = actual(MITEL, au(1004, "telephony"))
    assert _verdicts(plan_of(d, plain)) == []  # nothing recorded, nothing lost


def test_recordings_removed_count_in_the_destructive_share() -> None:
    users = [au(1000 + i, "standard", add_ons=["call-recording"]) for i in range(10)]
    d = desired(MITEL, *(du(1000 + i, "standard", add_ons=[] if i < 4 else ["call-recording"])
                         for i in range(10)), policy=ALLOW)
    plan = plan_of(d, actual(MITEL, *users))
    assert _verdicts(plan) == [(
        "destructive-share",
        "deletes, replaces or downgrades 4 of 10 users (40%), over 30%; --force required")]
