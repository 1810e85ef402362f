from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from plan_builders import (
    BASIC,
    C2T,
    IPECS,
    MITEL,
    PREMIUM,
    VM,
    actual,
    au,
    desired,
    du,
    order,
)

from reconciler.diff import Change, Pool, diff
from reconciler.errors import InputError
from reconciler.model import Licence, Policy


def kinds(changes: object) -> list[tuple[str, object]]:
    return [(c.kind, c.extension if c.extension is not None else c.licence)
            for c in changes.changes]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- users


def test_same_state_has_no_changes() -> None:
    d = desired(MITEL, du(1001, "standard", add_ons=["fax"], name="Ann"))
    a = actual(MITEL, au(1001, "standard", add_ons=["fax"], name="Ann"))
    assert diff(d, a).changes == ()


def test_new_user_is_created_with_its_record() -> None:
    d = desired(MITEL, du(1001, "standard", add_ons=["fax", "call-recording"], name="Ann",
                          email="ann@x.example"))
    assert diff(d, actual(MITEL)).changes == (
        Change("create_user", 1001, after={
            "extension": 1001, "name": "Ann", "email": "ann@x.example", "profile": "standard",
            "add_ons": ["call-recording", "fax"]}),
    )


def test_absent_user_on_the_platform_is_deleted() -> None:
    d = desired(MITEL, du(1001, absent=True))
    a = actual(MITEL, au(1001, "courtesy", name="Lobby"))
    assert diff(d, a).changes == (
        Change("delete_user", 1001, before={"extension": 1001, "name": "Lobby",
                                            "profile": "courtesy", "add_ons": []},
               reason="absent"),
    )


def test_absent_user_not_on_the_platform_is_nothing() -> None:
    assert diff(desired(MITEL, du(1001, absent=True)), actual(MITEL)).changes == ()


@pytest.mark.parametrize(("prune", "expected"), [
    (False, [("unmanaged", 1099)]),
    (True, [("delete_user", 1099)]),
])
def test_unlisted_user_is_kept_or_pruned(prune: bool, expected: list[object]) -> None:
    d = desired(MITEL, policy=Policy(prune=prune))
    changes = diff(d, actual(MITEL, au(1099, "courtesy", name="Old Room")))
    assert kinds(changes) == expected
    assert [u.name for u in changes.unmanaged] == ([] if prune else ["Old Room"])


def test_pruned_user_is_deleted_with_reason_prune() -> None:
    d = desired(MITEL, policy=Policy(prune=True))
    (change,) = diff(d, actual(MITEL, au(1099, "courtesy"))).changes
    assert change.reason == "prune"


@pytest.mark.parametrize(("field", "old", "new"), [
    ("name", "Sales", "Sales Desk"),
    ("email", "a@x.example", "b@x.example"),
    ("site", "North", "South"),
    ("caller_id", "4704812858", "4704812859"),
    ("call_barring", "Site Call Barring A", "Site Call Barring B"),
    ("fraud_limit", 10000, 500),
])
def test_a_changed_field_is_an_update(field: str, old: object, new: object) -> None:
    want: dict[str, Any] = {field: new}
    have: dict[str, Any] = {field: old}
    d = desired(IPECS, du(201, PREMIUM, **want))
    a = actual(IPECS, au(201, PREMIUM, **have), licences={PREMIUM: 1})
    assert diff(d, a).changes == (
        Change("update_user", 201, before={field: old}, after={field: new}),
    )


@pytest.mark.parametrize("field", ["email", "site", "caller_id", "call_barring", "fraud_limit"])
def test_a_field_the_file_leaves_out_is_not_managed(field: str) -> None:
    d = desired(IPECS, du(201, PREMIUM, name="User 201"))
    have: dict[str, Any] = {field: 7 if field == "fraud_limit" else "x"}
    a = actual(IPECS, au(201, PREMIUM, **have), licences={PREMIUM: 1})
    assert diff(d, a).changes == ()


def test_a_field_set_where_the_platform_has_none_shows_no_before() -> None:
    d = desired(MITEL, du(1001, "standard", email="new@x.example"))
    (change,) = diff(d, actual(MITEL, au(1001, "standard"))).changes
    assert (change.before, change.after) == ({}, {"email": "new@x.example"})


def test_profile_change() -> None:
    d = desired(MITEL, du(1003, "essentials"))
    assert diff(d, actual(MITEL, au(1003, "telephony"))).changes == (
        Change("change_profile", 1003, before={"profile": "telephony"},
               after={"profile": "essentials"}),
    )


def test_profile_left_out_is_not_managed() -> None:
    assert diff(desired(MITEL, du(1003)), actual(MITEL, au(1003, "telephony"))).changes == ()


def test_licence_change_is_its_own_kind() -> None:
    d = desired(C2T, du(2001, "pbx", licence="C2TU80"), licences={"C2TU25": 1, "C2TU80": 1})
    a = actual(C2T, au(2001, "pbx", licence="C2TU25"), licences={"C2TU25": 1, "C2TU80": 1})
    assert kinds(diff(d, a)) == [("change_licence", 2001)]


@pytest.mark.parametrize(("want", "have", "expected"), [
    (None, {"fax"}, []),  # not managed
    ([], {"fax", "call-recording"}, [("remove_addon", "call-recording"),
                                     ("remove_addon", "fax")]),
    (["fax"], set(), [("add_addon", "fax")]),
    (["fax", "call-recording"], {"fax"}, [("add_addon", "call-recording")]),
    (["fax"], {"fax"}, []),
])
def test_add_ons(want: list[str] | None, have: set[str], expected: list[object]) -> None:
    d = desired(MITEL, du(1001, "standard", add_ons=want))
    changes = diff(d, actual(MITEL, au(1001, "standard", add_ons=have))).changes
    assert [(c.kind, {**c.before, **c.after}["add_on"]) for c in changes] == expected


# --------------------------------------------------------------------------- renumber


def test_renumber_keeps_the_user() -> None:
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001, name="Ann"))
    a = actual(MITEL, au(1001, "standard", name="Ann"))
    changes = diff(d, a)
    assert changes.changes == (
        Change("renumber_user", 1010, before={"extension": 1001}, after={"extension": 1010}),
    )
    assert [(u.extension, u.user_id) for u in changes.users_after] == [(1010, "u1001")]


def test_renumber_already_done_is_nothing() -> None:
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001))
    assert diff(d, actual(MITEL, au(1010, "standard", name="User 1001"))).changes == ()


def test_renumber_with_other_changes_names_the_new_extension() -> None:
    d = desired(MITEL, du(1010, "advanced", renumbered_from=1001))
    assert kinds(diff(d, actual(MITEL, au(1001, "standard")))) == [
        ("renumber_user", 1010), ("change_profile", 1010)]


def test_renumber_chain_resolves_in_any_order() -> None:
    d = desired(MITEL, du(1002, "standard", renumbered_from=1001),
                du(1003, "standard", renumbered_from=1002))
    a = actual(MITEL, au(1001, "standard"), au(1002, "standard"))
    assert [(c.kind, c.before, c.after) for c in diff(d, a).changes] == [
        ("renumber_user", {"extension": 1001}, {"extension": 1002}),
        ("renumber_user", {"extension": 1002}, {"extension": 1003}),
    ]


def test_renumber_frees_the_old_extension_for_a_new_user() -> None:
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001), du(1001, "courtesy"))
    a = actual(MITEL, au(1001, "standard"))
    assert kinds(diff(d, a)) == [("create_user", 1001), ("renumber_user", 1010)]


def test_renumber_done_and_old_extension_reused_is_nothing() -> None:
    # after apply: 1010 renumbered, 1001 created again; the file still says renumbered_from
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001), du(1001, "courtesy"))
    a = actual(MITEL, au(1001, "courtesy"), au(1010, "standard", name="User 1001"))
    assert diff(d, a).changes == ()


def test_renumber_cycle_is_refused() -> None:
    d = desired(MITEL, du(1002, "standard", renumbered_from=1001),
                du(1001, "standard", renumbered_from=1002))
    a = actual(MITEL, au(1001, "standard"), au(1002, "standard"))
    with pytest.raises(InputError, match=r"^accounts/t.yaml:1:5: renumbering 1002 -> 1001 is "
                                         r"part of a cycle with no free extension between"):
        diff(d, a)


def test_renumber_onto_an_unmanaged_users_extension_is_refused() -> None:
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001))
    a = actual(MITEL, au(1001, "standard"), au(1010, "courtesy", name="Spare"))
    with pytest.raises(InputError) as e:
        diff(d, a)
    assert str(e.value) == (
        "accounts/t.yaml:10:5: extension 1010 is held on the platform by 'Spare', which the "
        "file does not list: mark it absent: true or set policy.prune: true")


def test_renumber_onto_a_pruned_users_extension_deletes_it() -> None:
    d = desired(MITEL, du(1010, "standard", renumbered_from=1001), policy=Policy(prune=True))
    a = actual(MITEL, au(1001, "standard"), au(1010, "courtesy"))
    assert kinds(diff(d, a)) == [("delete_user", 1010), ("renumber_user", 1010)]


def test_new_user_without_profile_is_refused() -> None:
    with pytest.raises(InputError, match="user 1001 is new on the platform and needs a profile"):
        diff(desired(MITEL, du(1001, name="Ann")), actual(MITEL))


@pytest.mark.parametrize("platform, profile", [(MITEL, "standard"), (IPECS, PREMIUM)])
def test_new_user_without_name_is_refused_before_anything_is_ordered(
        platform: str, profile: str) -> None:
    with pytest.raises(InputError, match="user 150 is new on the platform and needs a name"):
        diff(desired(platform, du(150, profile, name=None)), actual(platform))


def test_a_kept_user_needs_no_name_in_the_file() -> None:
    a = actual(MITEL, au(1001, "standard", name="Ann"))
    assert diff(desired(MITEL, du(1001, "standard", name=None)), a).changes == ()


# --------------------------------------------------------------------------- pools


def test_mitel_has_no_pools() -> None:
    assert diff(desired(MITEL, du(1001, "standard")), actual(MITEL)).pools == {}


def test_pool_target_omitted_is_what_the_users_need() -> None:
    d = desired(IPECS, du(297, PREMIUM), du(201, PREMIUM), du(210, BASIC))
    a = actual(IPECS, au(297, BASIC), au(201, PREMIUM), au(210, BASIC),
               licences={BASIC: 3, PREMIUM: 1})
    changes = diff(d, a)
    assert changes.pools == {
        BASIC: Pool(BASIC, quantity=3, in_use=2, target=1, in_use_after=1, declared=False,
                    started_on=date(2025, 1, 1)),
        PREMIUM: Pool(PREMIUM, quantity=1, in_use=1, target=2, in_use_after=2,
                      declared=False, started_on=date(2025, 1, 1)),
    }
    assert [(c.kind, c.licence, c.before, c.after)
            for c in changes.of_kind("licence_quantity")] == [
        ("licence_quantity", BASIC, {"quantity": 3}, {"quantity": 1}),
        ("licence_quantity", PREMIUM, {"quantity": 1}, {"quantity": 2}),
    ]


def test_pool_target_omitted_counts_unmanaged_users() -> None:
    d = desired(IPECS, du(201, BASIC))
    a = actual(IPECS, au(201, BASIC), au(299, BASIC), licences={BASIC: 4})
    assert diff(d, a).pools[BASIC].target == 2


def test_pool_target_omitted_leaves_out_pruned_users() -> None:
    d = desired(IPECS, du(201, BASIC), policy=Policy(prune=True))
    a = actual(IPECS, au(201, BASIC), au(299, BASIC), licences={BASIC: 2})
    assert diff(d, a).pools[BASIC].target == 1


def test_declared_pool_count_is_the_target() -> None:
    d = desired(IPECS, du(201, BASIC), licences={BASIC: 5})
    changes = diff(d, actual(IPECS, au(201, BASIC), licences={BASIC: 2}))
    assert changes.pools[BASIC].target == 5
    assert changes.pools[BASIC].declared


def test_declared_pools_return_what_they_leave_out() -> None:
    d = desired(IPECS, du(201, BASIC), licences={BASIC: 1})
    assert diff(d, actual(IPECS, au(201, BASIC), licences={BASIC: 1, VM: 2})).pools[VM].target == 0


def test_declared_count_below_what_unmanaged_users_need_is_an_error() -> None:
    d = desired(IPECS, du(201, BASIC), licences={BASIC: 1})
    a = actual(IPECS, au(201, BASIC), au(299, BASIC), licences={BASIC: 2})
    with pytest.raises(InputError) as e:
        diff(d, a)
    assert str(e.value) == (
        f"accounts/t.yaml:3:1: licences: {BASIC} is 1, but the users need 2 (1 of them "
        "unmanaged on the platform: mark them absent: true, set policy.prune: true or raise "
        "the count)")


def test_subscription_target_counts_users_per_sku() -> None:
    d = desired(C2T, du(2001, "pbx", licence="C2TU25"), du(2801, "trunk", licence="T2TU1"))
    a = actual(C2T, au(2001, "pbx", licence="C2TU25"), licences={"C2TU25": 5})
    changes = diff(d, a)
    assert {k: (p.quantity, p.target) for k, p in changes.pools.items()} == {
        "C2TU25": (5, 1), "T2TU1": (0, 1)}


def test_pending_and_rejected_orders_are_reported_confirmed_ones_are_not() -> None:
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1}, orders=[
        order("503040", PREMIUM, 1, "approved"),
        order("503041", PREMIUM, 1, "rejected"),
        order("503035", PREMIUM, 1, "confirmed"),
    ])
    changes = diff(desired(IPECS, du(201, PREMIUM)), a)
    assert [(c.kind, c.before["order_id"]) for c in changes.changes
            if c.kind.endswith("order")] == [("pending_order", "503040"),
                                             ("rejected_order", "503041")]


def test_expired_trial_is_reported_with_its_users() -> None:
    trial = Licence("C2TUT", 2, date(2026, 1, 1), active=False)
    a = actual(C2T, au(2901, "pbx", licence="C2TUT", active=False), trials=[trial])
    changes = diff(desired(C2T, du(2901, "pbx", licence="C2TUT")), a)
    assert changes.of_kind("expired_trial") == (
        Change("expired_trial", licence="C2TUT", before={"quantity": 2, "users": [2901]},
               after={"quantity": 1}),
    )
    assert changes.pools["C2TUT"].quantity == 0


# --------------------------------------------------------------------------- shape


def test_changes_sort_account_level_first_then_by_user_and_kind() -> None:
    d = desired(IPECS, du(297, PREMIUM, name="Demo"), du(201, BASIC), du(100, absent=True))
    a = actual(IPECS, au(297, BASIC), au(100, BASIC), licences={BASIC: 2})
    assert kinds(diff(d, a)) == [
        ("licence_quantity", BASIC), ("licence_quantity", PREMIUM),
        ("delete_user", 100), ("create_user", 201),
        ("change_profile", 297), ("update_user", 297),
    ]


def test_unknown_change_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown change kind 'swap'"):
        Change("swap", 1)


def test_projected_state_has_the_users_and_pools_after() -> None:
    d = desired(IPECS, du(297, PREMIUM), du(298, BASIC))
    a = actual(IPECS, au(297, BASIC), licences={BASIC: 1})
    after = diff(d, a).projected(a)
    assert [(u.extension, u.profile) for u in after.users] == [(297, PREMIUM), (298, BASIC)]
    assert [(lic.key, lic.quantity) for lic in after.licences] == [(BASIC, 1), (PREMIUM, 1)]
