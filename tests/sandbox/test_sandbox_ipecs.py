"""iPECS Cloud rules: the licence pool, change orders and their life, Change Package."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_helpers import BASIC, IPECS, PREMIUM, VERTICAL, VM, do, open_with, step, user_at

from reconciler.errors import ConfigError, PlatformError
from reconciler.model import ActualAccount
from reconciler.plan import Step
from reconciler.sandbox import Sandbox


def read(box: Sandbox) -> ActualAccount:
    return box.read_account(IPECS, VERTICAL)


def pool(box: Sandbox) -> dict[str, int]:
    return {lic.key: lic.quantity for lic in read(box).licences}


def order(box: Sandbox, package: str, before: int, after: int) -> str:
    action = "order_licences" if after > before else "return_licences"
    out = do(box, IPECS, VERTICAL, step(action, licence=package, before={"quantity": before},
                                        after={"quantity": after}))
    assert out.status == "pending" and out.order_id
    return out.order_id


def confirm(box: Sandbox, package: str, order_id: str) -> None:
    out = do(box, IPECS, VERTICAL, step("confirm_order", licence=package,
                                        params={"order_id": order_id}))
    assert out.status == "done"


def test_the_seed_upgrade_order_change_package_return(sandbox: Sandbox) -> None:
    """Seed 001: order +1 Premium, confirm, Change Package 297, return -1 Basic, confirm."""
    first = order(sandbox, PREMIUM, 2, 3)
    assert first == "503037"  # numbered like the seed's orders
    assert pool(sandbox)[PREMIUM] == 2  # only a confirmed order changes the pool
    assert [(o.order_id, o.state) for o in read(sandbox).orders] == [("503037", "approved")]
    confirm(sandbox, PREMIUM, first)
    do(sandbox, IPECS, VERTICAL, step("change_profile", user=297,
                                      before={"profile": BASIC}, after={"profile": PREMIUM}))
    assert user_at(sandbox, IPECS, VERTICAL, 297).profile == PREMIUM
    # the old licence stays in the pool, billed, until returned
    assert pool(sandbox) == {BASIC: 3, PREMIUM: 3, VM: 1}
    assert sandbox.billed_monthly(IPECS, VERTICAL) == Decimal("112.00")
    second = order(sandbox, BASIC, 3, 2)
    assert second == "503038"
    confirm(sandbox, BASIC, second)
    assert pool(sandbox) == {BASIC: 2, PREMIUM: 3, VM: 1}
    assert sandbox.billed_monthly(IPECS, VERTICAL) == Decimal("98.00")
    assert [(o.order_id, o.delta, o.state) for o in read(sandbox).orders] == [
        ("503037", 1, "confirmed"), ("503038", -1, "confirmed")]


def test_change_package_needs_a_free_licence(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, IPECS, VERTICAL, step("change_profile", user=297,
                                          after={"profile": PREMIUM}))
    assert str(e.value) == (
        "No available licence: Premium iPECS ONE USER (0); 2 of 2 licence(s) are assigned. "
        "Add the user type with a change order first"
    )
    assert user_at(sandbox, IPECS, VERTICAL, 297).profile == BASIC


def test_a_new_user_needs_a_free_licence(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError, match=r"No available licence: Basic User With VM \(0\)"):
        do(sandbox, IPECS, VERTICAL, step("create_user", user=212,
                                          after={"name": "Yard", "profile": BASIC}))
    order_id = order(sandbox, BASIC, 3, 4)
    confirm(sandbox, BASIC, order_id)
    do(sandbox, IPECS, VERTICAL, step("create_user", user=212,
                                      after={"name": "Yard", "profile": BASIC}))
    assert user_at(sandbox, IPECS, VERTICAL, 212).site == "Vertical Demo"  # the only site


def test_change_package_is_upgrade_only(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, IPECS, VERTICAL, step("change_profile", user=201, after={"profile": BASIC}))
    assert str(e.value) == (
        "Change Package from Premium iPECS ONE USER to Basic User With VM is not possible: "
        "the new package must include every feature of the old (upgrade only)"
    )


def test_a_downgrade_is_a_replace_with_a_new_user_id(sandbox: Sandbox) -> None:
    old = user_at(sandbox, IPECS, VERTICAL, 201)
    record = {"name": "Reception", "email": "reception@vertical.com", "site": "Vertical Demo",
              "profile": BASIC}
    with pytest.raises(PlatformError, match="No available licence: Basic User With VM"):
        do(sandbox, IPECS, VERTICAL, step("replace_user", user=201, after=record))
    assert read(sandbox).user(201) == old  # the refused replace deleted nothing
    confirm(sandbox, BASIC, order(sandbox, BASIC, 3, 4))
    do(sandbox, IPECS, VERTICAL, step("replace_user", user=201, after=record))
    new = user_at(sandbox, IPECS, VERTICAL, 201)
    assert (new.profile, new.email) == (BASIC, "reception@vertical.com")
    assert new.user_id != old.user_id
    assert pool(sandbox)[PREMIUM] == 2  # still billed until returned


def test_a_return_may_not_leave_fewer_licences_than_users(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        order(sandbox, BASIC, 3, 2)
    assert str(e.value) == (
        "Cannot return 1 Basic User With VM licence(s): 3 user(s) are assigned to the package "
        "and only 2 licence(s) would remain"
    )
    assert read(sandbox).orders == ()


def test_a_return_is_checked_again_at_final_confirm(tmp_path: Path) -> None:
    box = open_with(tmp_path, approval="manual")
    order_id = order(box, BASIC, 3, 4)
    box.approve(int(order_id))
    confirm(box, BASIC, order_id)  # 4 Basic, 3 users: one free
    ret = order(box, BASIC, 4, 3)  # fine when submitted
    do(box, IPECS, VERTICAL, step("create_user", user=212,
                                  after={"name": "Yard", "profile": BASIC}))
    box.approve(int(ret))
    with pytest.raises(PlatformError, match="Cannot return 1 Basic User With VM licence"):
        confirm(box, BASIC, ret)
    assert pool(box)[BASIC] == 4


def test_manual_approval_reject_and_not_approved_yet(tmp_path: Path) -> None:
    box = open_with(tmp_path, approval="manual")
    order_id = order(box, PREMIUM, 2, 3)
    assert read(box).orders[0].state == "submitted"
    with pytest.raises(PlatformError) as e:
        confirm(box, PREMIUM, order_id)
    assert str(e.value) == "order 503037 is not approved (submitted)"
    assert box.reject(int(order_id)) == "rejected"
    with pytest.raises(PlatformError, match="order 503037 was rejected"):
        confirm(box, PREMIUM, order_id)
    with pytest.raises(PlatformError, match="order 503037 is rejected, not submitted"):
        box.approve(int(order_id))
    assert pool(box)[PREMIUM] == 2


def test_delayed_approval_follows_the_sandbox_clock(tmp_path: Path) -> None:
    box = open_with(tmp_path, approval="delayed", approval_delay_days=3)
    order_id = order(box, PREMIUM, 2, 3)
    box.advance_clock(2)
    assert read(box).orders[0].state == "submitted"
    with pytest.raises(PlatformError, match="not approved"):
        confirm(box, PREMIUM, order_id)
    box.advance_clock(1)
    assert read(box).orders[0].state == "approved"
    confirm(box, PREMIUM, order_id)
    assert pool(box)[PREMIUM] == 3


def test_a_bad_approval_setting_is_a_one_line_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="approval must be one of immediate, delayed, manual"):
        open_with(tmp_path, approval="eventually")


@pytest.mark.parametrize(
    ("s", "message"),
    [
        (step("create_user", user=300, after={"name": "Out", "profile": VM}),
         "Extension 300: Rule Number, Min 100 ~ Max 299 (site Vertical Demo)"),
        (step("renumber_user", user=250, before={"extension": 250}, after={"extension": 99}),
         "Extension 99: Rule Number, Min 100 ~ Max 299 (site Vertical Demo)"),
        (step("create_user", user=220, after={"name": "X", "profile": VM, "site": "Depot"}),
         "Site 'Depot' does not exist for customer C000000150"),
        (step("create_user", user=201, after={"name": "X", "profile": VM}),
         "Extension 201 is already in use"),
        (step("update_user", user=299, after={"name": "X"}), "Extension 299 does not exist"),
        (step("update_user", user=297, after={"profile": PREMIUM}),
         "profile cannot be changed with Modify"),
        (step("confirm_order", licence=PREMIUM, params={"order_id": "999"}),
         "order 999 does not exist for customer C000000150"),
        (step("order_licences", licence="Gold", before={"quantity": 0}, after={"quantity": 1}),
         "Package 'Gold' does not exist"),
    ],
)
def test_refusals(sandbox: Sandbox, s: Step, message: str) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, IPECS, VERTICAL, s)
    assert str(e.value) == message


def test_delete_keeps_the_licence_in_the_pool_and_the_bill(sandbox: Sandbox) -> None:
    do(sandbox, IPECS, VERTICAL, step("delete_user", user=250))
    assert read(sandbox).user(250) is None
    assert pool(sandbox)[VM] == 1
    assert sandbox.billed_monthly(IPECS, VERTICAL) == Decimal("90.00")


def test_update_user_sets_the_seed_fields(sandbox: Sandbox) -> None:
    do(sandbox, IPECS, VERTICAL, step("update_user", user=202, before={"name": "Sales"},
                                      after={"name": "Sales Desk", "fraud_limit": 500}))
    user = user_at(sandbox, IPECS, VERTICAL, 202)
    assert (user.name, user.fraud_limit) == ("Sales Desk", 500)
