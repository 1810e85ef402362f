"""Call2Teams: Amend Subscription with quantities and totals, tier moves, C2TU-I as a
Service Desk request, trials (expiring, expired)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from plan_builders import (
    C2T,
    TODAY,
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

from reconciler.model import ActualUser, Licence
from reconciler.plan import Verdict


def pbx(ext: int, sku: str = "C2TU25", *, name: str | None = None,
        active: bool = True) -> ActualUser:
    return au(ext, "pbx", licence=sku, name=name, active=active)


def test_amend_up_shows_old_and_new_quantity_and_total() -> None:
    d = desired(C2T, du(2001, "pbx", licence="C2TU25"), licences={"C2TU25": 30})
    p = plan_of(d, actual(C2T, pbx(2001), licences={"C2TU25": 25}))
    assert rows(p) == [
        ("s1", "order_licences", "C2TU25", {"quantity": 25}, {"quantity": 30}, ()),
    ]
    s = p.steps[0]
    assert (s.label, s.mode) == ("Amend Subscription", "auto")
    assert dict(s.params) == {"old_total": "125.00", "new_total": "150.00", "currency": "USD"}
    assert money_of(p) == [("s1", "25.00", "0.00")]
    assert cost_of(p) == ("125.00", "150.00", "25.00", "0.00")


def test_amend_down_comes_after_the_users_leave() -> None:
    d = desired(C2T, du(2001, "pbx", licence="C2TU25"), du(2002, absent=True),
                licences={"C2TU25": 1})
    p = plan_of(d, actual(C2T, pbx(2001), pbx(2002), licences={"C2TU25": 2}))
    assert rows(p) == [
        ("s1", "delete_user", 2002,
         {"extension": 2002, "name": "User 2002", "profile": "pbx", "licence": "C2TU25"}, {}, ()),
        ("s2", "return_licences", "C2TU25", {"quantity": 2}, {"quantity": 1}, ("s1",)),
    ]
    assert dict(p.steps[1].params) == {"old_total": "10.00", "new_total": "5.00",
                                       "currency": "USD"}
    assert money_of(p)[1] == ("s2", "-5.00", "0.00")


def test_tier_move_orders_the_new_sku_moves_users_returns_the_old() -> None:
    d = desired(C2T, *(du(e, "pbx", licence="C2TU25") for e in (2001, 2002, 2003)),
                licences={"C2TU25": 3, "C2TU1": 0})
    a = actual(C2T, pbx(2001, "C2TU1"), pbx(2002, "C2TU1"), pbx(2003, "C2TU1"),
               licences={"C2TU1": 3})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "order_licences", "C2TU25", {"quantity": 0}, {"quantity": 3}, ()),
        ("s2", "change_profile", 2001, {"licence": "C2TU1"}, {"licence": "C2TU25"}, ("s1",)),
        ("s3", "change_profile", 2002, {"licence": "C2TU1"}, {"licence": "C2TU25"}, ("s1",)),
        ("s4", "change_profile", 2003, {"licence": "C2TU1"}, {"licence": "C2TU25"}, ("s1",)),
        ("s5", "return_licences", "C2TU1", {"quantity": 3}, {"quantity": 0},
         ("s2", "s3", "s4")),
    ]
    assert money_of(p) == [("s1", "15.00", "0.00"), ("s2", "0.00", "0.00"),
                           ("s3", "0.00", "0.00"), ("s4", "0.00", "0.00"),
                           ("s5", "-18.00", "0.00")]
    assert cost_of(p) == ("18.00", "15.00", "-3.00", "0.00")


def test_internal_sku_change_is_a_service_desk_request_never_automatic() -> None:
    d = desired(C2T, du(100, "internal", licence="C2TU-I25"),
                du(103, "internal", licence="C2TU-I25", name="New Staff"),
                licences={"C2TU-I25": 12}, kind="internal")
    a = actual(C2T, au(100, "internal", licence="C2TU-I25"), licences={"C2TU-I25": 1},
               kind="internal")
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "manual", "C2TU-I25", {"quantity": 1}, {"quantity": 12}, ()),
        ("s2", "create_user", 103, {},
         {"extension": 103, "name": "New Staff", "profile": "internal", "licence": "C2TU-I25"},
         ("s1",)),
    ]
    s = p.steps[0]
    assert (s.mode, s.label) == ("manual", "Service Desk Request")
    assert dict(s.params) == {"request": "Please amend subscription C2TU-I25 on account X-1 "
                                         "(Test Co) from 1 to 12 licences."}
    assert money_of(p)[0] == ("s1", "22.00", "0.00")
    assert all(x.action not in ("order_licences", "return_licences") for x in p.steps)
    assert p.blocked == ()


def test_internal_sku_decrease_is_a_request_at_the_end() -> None:
    d = desired(C2T, du(100, absent=True), licences={"C2TU-I25": 0}, kind="internal")
    a = actual(C2T, au(100, "internal", licence="C2TU-I25"), licences={"C2TU-I25": 1},
               kind="internal")
    p = plan_of(d, a)
    assert [r[1:3] + (r[5],) for r in rows(p)] == [
        ("delete_user", 100, ()), ("manual", "C2TU-I25", ("s1",))]
    assert "from 1 to 0 licences." in p.steps[1].params["request"]


@pytest.mark.parametrize(("days_left", "warned"), [(5, True), (7, True), (8, False)])
def test_trial_expiring_within_seven_days_is_warned_with_its_date(days_left: int,
                                                                   warned: bool) -> None:
    started = TODAY - timedelta(days=30 - days_left)
    trial = Licence("C2TUT", 1, started)
    d = desired(C2T, du(2901, "pbx", licence="C2TUT"), licences={"C2TUT": 1})
    p = plan_of(d, actual(C2T, pbx(2901, "C2TUT"), trials=[trial]))
    expires = TODAY + timedelta(days=days_left)
    expected = (f"trial C2TUT expires on {expires} (in {days_left} days); trials cannot be "
                "extended: move its users to a paid SKU before then",)
    assert p.warnings == (expected if warned else ())
    assert p.steps == ()


def test_expired_trial_still_in_the_file_blocks_and_is_warned_as_drift() -> None:
    trial = Licence("C2TUT", 2, date(2026, 1, 10), active=False)
    d = desired(C2T, du(2901, "pbx", licence="C2TUT"), du(2902, "pbx", licence="C2TUT"),
                licences={"C2TUT": 2})
    a = actual(C2T, pbx(2901, "C2TUT", active=False), pbx(2902, "C2TUT", active=False),
               trials=[trial])
    p = plan_of(d, a)
    assert p.steps == ()
    assert p.warnings == ("trial C2TUT expired on 2026-02-09: the subscription is cancelled "
                          "and users 2901, 2902 have no service",)
    assert p.blocked == (Verdict("trial", "trial C2TUT expired on 2026-02-09; move its users "
                                          "to a paid SKU"),)
    assert p.is_blocked
    assert p.drift == p.warnings  # the platform did it: drift reports it
    assert cost_of(p) == ("0.00", "0.00", "0.00", "0.00")


def test_expired_trial_users_moved_to_a_paid_sku() -> None:
    trial = Licence("C2TUT", 1, date(2026, 1, 10), active=False)
    d = desired(C2T, du(2901, "pbx", licence="C2TU25"), licences={"C2TU25": 1})
    a = actual(C2T, pbx(2901, "C2TUT", active=False), trials=[trial])
    p = plan_of(d, a)
    assert [r[1:] for r in rows(p)] == [
        ("order_licences", "C2TU25", {"quantity": 0}, {"quantity": 1}, ()),
        ("change_profile", 2901, {"licence": "C2TUT"}, {"licence": "C2TU25"}, ("s1",)),
    ]
    assert p.blocked == ()
    assert p.warnings == ("trial C2TUT expired on 2026-02-09: the subscription is cancelled "
                          "and users 2901 have no service",)


def test_kind_change_deletes_and_creates_the_user() -> None:
    d = desired(C2T, du(2801, "trunk", licence="T2TU1", name="Door"),
                licences={"T2TU1": 1, "C2TU25": 0})
    a = actual(C2T, pbx(2801, name="Door"), licences={"C2TU25": 1, "T2TU1": 1})
    p = plan_of(d, a)
    assert [r[1:3] + (r[5],) for r in rows(p)] == [
        ("delete_user", 2801, ()), ("create_user", 2801, ("s1",)),
        ("return_licences", "C2TU25", ("s1",))]
    assert p.steps[0].warnings == (
        "2801 changes from pbx to trunk: a Call2Teams user cannot change its kind, so it is "
        "deleted and created again",)


def test_moves_between_two_full_subscriptions_get_one_temporary_licence() -> None:
    d = desired(C2T, du(2001, "pbx", licence="C2TU80"), du(2002, "pbx", licence="C2TU25"),
                licences={"C2TU25": 1, "C2TU80": 1})
    a = actual(C2T, pbx(2001, "C2TU25"), pbx(2002, "C2TU80"),
               licences={"C2TU25": 1, "C2TU80": 1})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "order_licences", "C2TU80", {"quantity": 1}, {"quantity": 2}, ()),
        ("s2", "change_profile", 2001, {"licence": "C2TU25"}, {"licence": "C2TU80"}, ("s1",)),
        ("s3", "change_profile", 2002, {"licence": "C2TU80"}, {"licence": "C2TU25"}, ("s2",)),
        ("s4", "return_licences", "C2TU80", {"quantity": 2}, {"quantity": 1}, ("s2", "s3")),
    ]
    assert [m for _, m, _ in money_of(p)] == ["0.00"] * 4
    assert "zero net monthly" in p.steps[0].warnings[0]
    assert steps_add_up(p)


def test_new_trial_subscription_is_ordered_free() -> None:
    d = desired(C2T, du(2901, "pbx", licence="C2TUT"), licences={"C2TUT": 1})
    p = plan_of(d, actual(C2T))
    assert [r[1:3] for r in rows(p)] == [("order_licences", "C2TUT"), ("create_user", 2901)]
    assert cost_of(p) == ("0.00", "0.00", "0.00", "0.00")
    assert p.warnings == ()


def test_new_trunk_user_on_a_full_subscription_waits_for_the_amend() -> None:
    d = desired(C2T, du(2801, "trunk", licence="T2TU1"), du(2802, "trunk", licence="T2TU1",
                                                          name="Fax Gateway"))
    a = actual(C2T, au(2801, "trunk", licence="T2TU1"), licences={"T2TU1": 1})
    p = plan_of(d, a)
    assert rows(p) == [
        ("s1", "order_licences", "T2TU1", {"quantity": 1}, {"quantity": 2}, ()),
        ("s2", "create_user", 2802, {},
         {"extension": 2802, "name": "Fax Gateway", "profile": "trunk", "licence": "T2TU1"},
         ("s1",)),
    ]
    assert money_of(p) == [("s1", "5.00", "0.00"), ("s2", "0.00", "0.00")]


def test_expired_trial_nobody_uses_or_declares_is_not_warned() -> None:
    trial = Licence("C2TUT", 2, date(2026, 1, 10), active=False)
    d = desired(C2T, du(2001, "pbx", licence="C2TU25"), licences={"C2TU25": 1})
    p = plan_of(d, actual(C2T, pbx(2001), licences={"C2TU25": 1}, trials=[trial]))
    assert (p.steps, p.warnings, p.blocked, p.drift) == ((), (), (), ())
