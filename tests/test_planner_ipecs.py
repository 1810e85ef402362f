"""iPECS ordering: change orders before the users that need them, returns after, freed
licences reused, a temporary licence for a downgrade/upgrade cycle, pending orders."""

from __future__ import annotations

from plan_builders import (
    BASIC,
    IPECS,
    PREMIUM,
    actual,
    au,
    cost_of,
    desired,
    du,
    money_of,
    order,
    plan_of,
    rows,
    steps_add_up,
)

from reconciler.model import Policy

SITE = "Vertical Demo"


def test_upgrade_on_a_full_pool_orders_before_and_returns_after() -> None:
    d = desired(IPECS, du(297, PREMIUM), du(201, PREMIUM), du(210, BASIC))
    a = actual(IPECS, au(297, BASIC), au(201, PREMIUM), au(210, BASIC),
               licences={BASIC: 2, PREMIUM: 1})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "order_licences", PREMIUM, {"quantity": 1}, {"quantity": 2}, ()),
        ("s2", "confirm_order", PREMIUM, {}, {"quantity": 2}, ("s1",)),
        ("s3", "change_profile", 297, {"profile": BASIC}, {"profile": PREMIUM}, ("s2",)),
        ("s4", "return_licences", BASIC, {"quantity": 2}, {"quantity": 1}, ("s3",)),
        ("s5", "confirm_order", BASIC, {}, {"quantity": 1}, ("s4",)),
    ]
    assert [(s.mode, s.label) for s in p.steps] == [
        ("approval", "Change Order (+)"), ("auto", "Order Final Confirm"),
        ("auto", "Change Package"), ("approval", "Change Order (-)"),
        ("auto", "Order Final Confirm")]
    assert money_of(p) == [("s1", "22.00", "0.00"), ("s2", "0.00", "0.00"),
                           ("s3", "0.00", "0.00"), ("s4", "-14.00", "0.00"),
                           ("s5", "0.00", "0.00")]
    assert cost_of(p) == ("50.00", "58.00", "8.00", "0.00")
    assert steps_add_up(p)


def test_upgrade_with_a_free_licence_orders_nothing() -> None:
    d = desired(IPECS, du(297, PREMIUM), licences={PREMIUM: 2, BASIC: 1})
    a = actual(IPECS, au(297, BASIC), au(201, PREMIUM, name="Kept"),
               licences={BASIC: 1, PREMIUM: 2})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "change_profile", 297, {"profile": BASIC}, {"profile": PREMIUM}, ()),
    ]
    assert cost_of(p) == ("58.00", "58.00", "0.00", "0.00")


def test_a_licence_freed_by_one_user_is_reused_by_another() -> None:
    # 210 upgrades Basic -> Premium while 212 is created on Basic: 212 takes 210's Basic
    d = desired(IPECS, du(210, PREMIUM), du(211, BASIC), du(212, BASIC, name="New", site=SITE),
                du(201, PREMIUM))
    a = actual(IPECS, au(210, BASIC), au(211, BASIC), au(201, PREMIUM),
               licences={BASIC: 2, PREMIUM: 1})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "order_licences", PREMIUM, {"quantity": 1}, {"quantity": 2}, ()),
        ("s2", "confirm_order", PREMIUM, {}, {"quantity": 2}, ("s1",)),
        ("s3", "change_profile", 210, {"profile": BASIC}, {"profile": PREMIUM}, ("s2",)),
        ("s4", "create_user", 212,
         {}, {"extension": 212, "name": "New", "site": SITE, "profile": BASIC}, ("s3",)),
    ]
    assert cost_of(p) == ("50.00", "72.00", "22.00", "0.00")


def test_a_deleted_users_licence_is_reused_before_anything_is_ordered() -> None:
    d = desired(IPECS, du(201, absent=True), du(202, PREMIUM, name="New"))
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1})
    assert rows(plan_of(d, a)) == [
        ("s1", "delete_user", 201, {"extension": 201, "name": "User 201", "profile": PREMIUM},
         {}, ()),
        ("s2", "create_user", 202, {}, {"extension": 202, "name": "New", "profile": PREMIUM},
         ("s1",)),
    ]


def test_deleted_user_licence_is_returned_at_the_end() -> None:
    d = desired(IPECS, du(201, absent=True), du(202, PREMIUM))
    a = actual(IPECS, au(201, PREMIUM), au(202, PREMIUM), licences={PREMIUM: 2})
    p = plan_of(d, a)
    assert [r[:3] + (r[5],) for r in rows(p)] == [
        ("s1", "delete_user", 201, ()),
        ("s2", "return_licences", PREMIUM, ("s1",)),
        ("s3", "confirm_order", PREMIUM, ("s2",)),
    ]
    assert money_of(p)[1] == ("s2", "-22.00", "0.00")


def test_new_users_wait_for_the_order_that_brings_their_licence() -> None:
    d = desired(IPECS, du(201, PREMIUM), du(202, PREMIUM), du(203, PREMIUM))
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 2})
    p = plan_of(d, a)
    assert [r[:3] + (r[5],) for r in rows(p)] == [
        ("s1", "order_licences", PREMIUM, ()),
        ("s2", "confirm_order", PREMIUM, ("s1",)),
        ("s3", "create_user", 202, ()),       # the free licence: no wait
        ("s4", "create_user", 203, ("s2",)),  # the ordered one
    ]
    assert cost_of(p)[2] == "22.00"


def test_downgrade_replaces_the_user_and_says_what_is_lost() -> None:
    d = desired(IPECS, du(201, BASIC, name="Reception", allow_downgrade=True))
    a = actual(IPECS, au(201, PREMIUM, name="Front Desk", email="r@x.example", site=SITE),
               licences={PREMIUM: 1, BASIC: 1})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "replace_user", 201,
         {"extension": 201, "name": "Front Desk", "email": "r@x.example", "site": SITE,
          "profile": PREMIUM},
         {"extension": 201, "name": "Reception", "email": "r@x.example", "site": SITE,
          "profile": BASIC}, ()),
        ("s2", "return_licences", PREMIUM, {"quantity": 1}, {"quantity": 0}, ("s1",)),
        ("s3", "confirm_order", PREMIUM, {}, {"quantity": 0}, ("s2",)),
    ]
    assert p.steps[0].label == "Delete and Re-create User"
    assert p.steps[0].warnings == (
        "voicemail and settings of 201 are lost: iPECS changes packages upgrade-only, so "
        "the user is deleted and created again",
        "downgrade of 201 from Premium iPECS ONE USER to Basic User With VM loses included "
        "feature iPECS ONE desktop and mobile app",
    )
    assert p.blocked == ()


def test_downgrade_and_upgrade_on_a_full_pool_get_one_temporary_licence() -> None:
    # 201 Premium -> Basic needs a Basic before it frees its Premium; 210 Basic -> Premium
    # needs that Premium before it frees its Basic: one temporary Basic breaks the cycle.
    d = desired(IPECS, du(201, BASIC), du(210, PREMIUM), policy=Policy(allow_downgrade=True))
    a = actual(IPECS, au(201, PREMIUM), au(210, BASIC), licences={BASIC: 1, PREMIUM: 1})
    p = plan_of(d, a)
    assert [r[:3] + r[3:5] + (r[5],) for r in rows(p)] == [
        ("s1", "order_licences", BASIC, {"quantity": 1}, {"quantity": 2}, ()),
        ("s2", "confirm_order", BASIC, {}, {"quantity": 2}, ("s1",)),
        ("s3", "replace_user", 201, {"extension": 201, "name": "User 201", "profile": PREMIUM},
         {"extension": 201, "name": "User 201", "profile": BASIC}, ("s2",)),
        ("s4", "change_profile", 210, {"profile": BASIC}, {"profile": PREMIUM}, ("s3",)),
        ("s5", "return_licences", BASIC, {"quantity": 2}, {"quantity": 1}, ("s3", "s4")),
        ("s6", "confirm_order", BASIC, {}, {"quantity": 1}, ("s5",)),
    ]
    assert p.steps[0].warnings == (
        "temporary licence: the package changes here wait on each other and the pool has no "
        "free licence; returned at the end of this plan, zero net monthly",)
    assert p.steps[4].warnings == (
        "returns the 1 temporary licence ordered above (zero net monthly)",)
    assert [m for _, m, _ in money_of(p)] == ["0.00"] * 6
    assert cost_of(p) == ("36.00", "36.00", "0.00", "0.00")


def test_temporary_licence_is_returned_with_a_real_return() -> None:
    # same cycle, and 211 leaves Basic: the return gives back the temporary one and 211's
    d = desired(IPECS, du(201, BASIC), du(210, PREMIUM), du(211, absent=True),
                policy=Policy(allow_downgrade=True))
    a = actual(IPECS, au(201, PREMIUM), au(210, BASIC), au(211, BASIC),
               licences={BASIC: 2, PREMIUM: 1})
    p = plan_of(d, a)
    # 211's delete frees a Basic first, so no cycle and no temporary licence
    assert [r[1:3] for r in rows(p)] == [
        ("delete_user", 211), ("replace_user", 201), ("change_profile", 210),
        ("return_licences", BASIC), ("confirm_order", BASIC)]
    assert [s.depends_on for s in p.steps] == [(), ("s1",), ("s2",), ("s1", "s2", "s3"),
                                               ("s4",)]
    assert cost_of(p)[2] == "-14.00"
    assert steps_add_up(p)


def test_approved_pending_order_is_confirmed_never_ordered_again() -> None:
    d = desired(IPECS, du(297, PREMIUM), du(201, PREMIUM))
    a = actual(IPECS, au(297, BASIC), au(201, PREMIUM), licences={BASIC: 1, PREMIUM: 1},
               orders=[order("503040", PREMIUM, 1, "approved")])
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "confirm_order", PREMIUM, {}, {"quantity": 2}, ()),
        ("s2", "change_profile", 297, {"profile": BASIC}, {"profile": PREMIUM}, ("s1",)),
        ("s3", "return_licences", BASIC, {"quantity": 1}, {"quantity": 0}, ("s2",)),
        ("s4", "confirm_order", BASIC, {}, {"quantity": 0}, ("s3",)),
    ]
    assert dict(p.steps[0].params) == {"order_id": "503040"}
    assert p.steps[0].warnings == ()
    assert money_of(p)[0] == ("s1", "22.00", "0.00")
    assert steps_add_up(p)


def test_submitted_pending_order_is_continued_with_a_wait_warning() -> None:
    d = desired(IPECS, du(201, PREMIUM), du(202, PREMIUM))
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1},
               orders=[order("503040", PREMIUM, 1, "submitted")])
    p = plan_of(d, a)
    assert [r[1:3] for r in rows(p)] == [("confirm_order", PREMIUM), ("create_user", 202)]
    assert p.steps[0].warnings == (
        "change order 503040 still waits for the platform's approval; apply confirms it "
        "once approved",)


def test_pending_order_covering_part_of_the_need_is_continued_and_the_rest_ordered() -> None:
    d = desired(IPECS, du(201, PREMIUM), licences={PREMIUM: 4})
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1},
               orders=[order("503040", PREMIUM, 2)])
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "confirm_order", PREMIUM, {}, {"quantity": 3}, ()),
        ("s2", "order_licences", PREMIUM, {"quantity": 3}, {"quantity": 4}, ()),
        ("s3", "confirm_order", PREMIUM, {}, {"quantity": 4}, ("s2",)),
    ]
    assert money_of(p) == [("s1", "44.00", "0.00"), ("s2", "22.00", "0.00"),
                           ("s3", "0.00", "0.00")]


def test_pending_order_beyond_the_need_is_left_with_a_warning() -> None:
    d = desired(IPECS, du(201, PREMIUM), du(202, PREMIUM))
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1},
               orders=[order("503040", PREMIUM, 3)])
    p = plan_of(d, a)
    assert [r[1:3] for r in rows(p)] == [
        ("order_licences", PREMIUM), ("confirm_order", PREMIUM), ("create_user", 202)]
    assert p.warnings == (
        f"change order 503040 (+3 {PREMIUM}, approved) is pending but this plan does not "
        "need it: it is left unconfirmed; reject it in Order Final Confirm",)


def test_pending_return_is_confirmed_after_the_users_left() -> None:
    d = desired(IPECS, du(297, PREMIUM), licences={PREMIUM: 1, BASIC: 0})
    a = actual(IPECS, au(297, BASIC), licences={BASIC: 1, PREMIUM: 1},
               orders=[order("503050", BASIC, -1)])
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "change_profile", 297, {"profile": BASIC}, {"profile": PREMIUM}, ()),
        ("s2", "confirm_order", BASIC, {}, {"quantity": 0}, ("s1",)),
    ]
    assert dict(p.steps[1].params) == {"order_id": "503050"}
    assert money_of(p)[1] == ("s2", "-14.00", "0.00")


def test_rejected_order_is_a_warning_and_the_plan_orders_again() -> None:
    d = desired(IPECS, du(201, PREMIUM), du(202, PREMIUM))
    a = actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1},
               orders=[order("503041", PREMIUM, 1, "rejected")])
    p = plan_of(d, a)
    assert [r[1] for r in rows(p)] == ["order_licences", "confirm_order", "create_user"]
    assert p.warnings == (
        f"change order 503041 (+1 {PREMIUM}) was rejected by the platform; this plan "
        "orders again",)


def test_renumber_runs_first_and_the_users_other_steps_wait_for_it() -> None:
    d = desired(IPECS, du(297, PREMIUM, renumbered_from=296, name="9240 Demo"),
                licences={PREMIUM: 1, BASIC: 1})
    a = actual(IPECS, au(296, BASIC, name="Demo"), licences={BASIC: 1, PREMIUM: 1})
    assert rows(plan_of(d, a)) == [
        ("s1", "renumber_user", 296, {"extension": 296}, {"extension": 297}, ()),
        ("s2", "change_profile", 297, {"profile": BASIC}, {"profile": PREMIUM}, ("s1",)),
        ("s3", "update_user", 297, {"name": "Demo"}, {"name": "9240 Demo"}, ("s1",)),
    ]


def test_a_new_user_on_a_renumbered_users_old_extension_waits_for_the_renumber() -> None:
    d = desired(IPECS, du(297, BASIC, renumbered_from=296), du(296, BASIC, name="New"),
                licences={BASIC: 2})
    a = actual(IPECS, au(296, BASIC), licences={BASIC: 2})
    assert [r[1:3] + (r[5],) for r in rows(plan_of(d, a))] == [
        ("renumber_user", 296, ()), ("create_user", 296, ("s1",))]


def test_steps_carry_the_users_name() -> None:
    d = desired(IPECS, du(202, PREMIUM, name="Sales Desk"), du(203, absent=True))
    a = actual(IPECS, au(202, PREMIUM, name="Sales"), au(203, PREMIUM, name="Gone"),
               licences={PREMIUM: 2})
    assert [(s.action, s.name) for s in plan_of(d, a).steps] == [
        ("delete_user", "Gone"), ("update_user", "Sales Desk"),
        ("return_licences", ""), ("confirm_order", "")]


def test_same_input_same_plan() -> None:
    d = desired(IPECS, du(201, BASIC), du(210, PREMIUM), policy=Policy(allow_downgrade=True))
    a = actual(IPECS, au(201, PREMIUM), au(210, BASIC), licences={BASIC: 1, PREMIUM: 1})
    assert plan_of(d, a).steps == plan_of(d, a).steps


def test_a_declared_count_above_the_need_is_one_order() -> None:
    d = desired(IPECS, du(201, PREMIUM), licences={PREMIUM: 3})
    p = plan_of(d, actual(IPECS, au(201, PREMIUM), licences={PREMIUM: 1}))
    assert rows(p) == [
        ("s1", "order_licences", PREMIUM, {"quantity": 1}, {"quantity": 3}, ()),
        ("s2", "confirm_order", PREMIUM, {}, {"quantity": 3}, ("s1",)),
    ]
    assert cost_of(p) == ("22.00", "66.00", "44.00", "0.00")
