"""Call2Teams rules: subscriptions, licences per user kind, C2TU-I, trials on the clock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sandbox_helpers import C2T, CONTOSO, PARTNER, do, licence_at, step, user_at

from reconciler.errors import PlatformError
from reconciler.provider import StepOutcome
from reconciler.sandbox import Sandbox


def subs(box: Sandbox, account: str = CONTOSO) -> dict[str, tuple[int, bool]]:
    return {lic.key: (lic.quantity, lic.active)
            for lic in box.read_account(C2T, account).licences}


def amend(box: Sandbox, sku: str, before: int, after: int,
          account: str = CONTOSO) -> StepOutcome:
    action = "order_licences" if after > before else "return_licences"
    return do(box, C2T, account, step(action, licence=sku, before={"quantity": before},
                                      after={"quantity": after}))


def test_amend_subscription_up_changes_the_bill_at_the_tier_price(sandbox: Sandbox) -> None:
    assert sandbox.billed_monthly(C2T, CONTOSO) == Decimal("135.00")
    out = amend(sandbox, "C2TU25", 25, 30)
    assert out.status == "done"
    assert out.detail == "C2TU25 amended from 25 to 30 (monthly 125.00 -> 150.00)"
    assert subs(sandbox)["C2TU25"] == (30, True)
    assert sandbox.billed_monthly(C2T, CONTOSO) == Decimal("160.00")


def test_amend_down_below_the_licences_users_hold_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        amend(sandbox, "C2TU25", 25, 5)
    assert str(e.value) == "Cannot reduce C2TU25 to 5: 6 licence(s) are assigned to users"
    amend(sandbox, "C2TU25", 25, 6)
    assert subs(sandbox)["C2TU25"] == (6, True)


def test_any_write_to_an_internal_sku_needs_the_service_desk(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        amend(sandbox, "C2TU-I25", 10, 12, account=PARTNER)
    assert str(e.value) == ("C2TU-I25 is an Internal-User subscription: ordering or amending "
                            "it requires a Service Desk request")
    with pytest.raises(PlatformError, match="requires a Service Desk request"):
        amend(sandbox, "C2TU-I25", 10, 3, account=PARTNER)
    assert subs(sandbox, PARTNER) == {"C2TU-I25": (10, True)}


def test_a_manual_step_is_never_performed(sandbox: Sandbox) -> None:
    out = do(sandbox, C2T, PARTNER, step(
        "manual", licence="C2TU-I25", before={"quantity": 10}, after={"quantity": 12},
        params={"request": "Please amend C2TU-I25 from 10 to 12"}))
    assert (out.status, out.detail) == ("manual", "Please amend C2TU-I25 from 10 to 12")
    assert subs(sandbox, PARTNER) == {"C2TU-I25": (10, True)}


def test_internal_users_may_take_an_internal_licence_on_the_internal_account(
    sandbox: Sandbox,
) -> None:
    do(sandbox, C2T, PARTNER, step("create_user", user=103, after={
        "name": "Partner Ops", "profile": "internal", "licence": "C2TU-I25"}))
    assert user_at(sandbox, C2T, PARTNER, 103).licence == "C2TU-I25"


def test_internal_licences_never_on_a_client_account(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        amend(sandbox, "C2TU-I25", 0, 5)
    assert str(e.value) == (
        "C2TU-I25: Internal-User licences are for partners' own staff and cannot be offered "
        "to clients (C2T-10042 is a client account)"
    )
    with pytest.raises(PlatformError, match="cannot be offered to clients"):
        do(sandbox, C2T, CONTOSO, step("create_user", user=2010, after={
            "name": "Sneaky", "profile": "internal", "licence": "C2TU-I25"}))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"name": "T", "profile": "trunk", "licence": "C2TU25"},
         "Subscription C2TU25 is for PBX users, not trunk users"),
        ({"name": "T", "profile": "trunk", "licence": "T2TU1"},
         "No licences left on subscription T2TU1 (2 of 2 in use)"),
        ({"name": "T", "profile": "pbx", "licence": "C2TU80"},
         "Account C2T-10042 has no C2TU80 subscription"),
        ({"name": "T", "profile": "pbx", "licence": "C2TU7"},
         "Offer 'C2TU7' is not available on this partner account"),
        ({"name": "T", "profile": "fax", "licence": "C2TU25"},
         "User type must be one of pbx, trunk, internal, not 'fax'"),
    ],
)
def test_a_user_uses_one_licence_of_a_subscription_of_its_kind(
    sandbox: Sandbox, record: dict[str, str], message: str
) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, C2T, CONTOSO, step("create_user", user=2803, after=record))
    assert str(e.value) == message


def test_tier_move_order_new_move_users_return_old(sandbox: Sandbox) -> None:
    amend(sandbox, "T2TU25", 0, 2)
    for ext in (2801, 2802):
        do(sandbox, C2T, CONTOSO, step("change_profile", user=ext, before={"licence": "T2TU1"},
                                       after={"licence": "T2TU25"}))
    amend(sandbox, "T2TU1", 2, 0)  # 0 cancels the subscription
    assert "T2TU1" not in subs(sandbox)
    assert subs(sandbox)["T2TU25"] == (2, True)
    assert user_at(sandbox, C2T, CONTOSO, 2801).licence == "T2TU25"


def test_returning_a_subscription_users_still_hold_is_refused(sandbox: Sandbox) -> None:
    amend(sandbox, "T2TU25", 0, 2)
    with pytest.raises(PlatformError, match="Cannot reduce T2TU1 to 0: 2 licence"):
        amend(sandbox, "T2TU1", 2, 0)


def test_a_trial_is_cancelled_30_days_after_it_started(sandbox: Sandbox) -> None:
    started = licence_at(sandbox, C2T, CONTOSO, "C2TUT").started_on
    assert started == date(2026, 10, 8)
    sandbox.advance_clock(4)  # day 29
    assert subs(sandbox)["C2TUT"] == (2, True)
    assert user_at(sandbox, C2T, CONTOSO, 2901).active
    sandbox.advance_clock(1)  # day 30: cancelled, its users lose service
    state = sandbox.read_account(C2T, CONTOSO)
    assert state.today == date(2026, 11, 7)
    assert subs(sandbox)["C2TUT"] == (2, False)
    assert [u.extension for u in state.users if not u.active] == [2901, 2902]
    with pytest.raises(PlatformError) as e:
        amend(sandbox, "C2TUT", 2, 3)
    assert str(e.value) == "C2TUT expired on 2026-11-07: trials cannot be extended"
    with pytest.raises(PlatformError, match="C2TUT was cancelled on 2026-11-07: the trial expired"):
        do(sandbox, C2T, CONTOSO, step("create_user", user=2903, after={
            "name": "Pilot Three", "profile": "pbx", "licence": "C2TUT"}))
    # the users can be moved to a paid subscription, then the trial cancelled
    do(sandbox, C2T, CONTOSO, step("change_profile", user=2901, after={"licence": "C2TU25"}))
    assert user_at(sandbox, C2T, CONTOSO, 2901).active


def test_a_new_trial_starts_on_the_sandbox_clock(sandbox: Sandbox) -> None:
    sandbox.advance_clock(3)
    amend(sandbox, "T2TUT", 0, 1)
    lic = licence_at(sandbox, C2T, CONTOSO, "T2TUT")
    assert (lic.started_on, lic.active) == (date(2026, 11, 5), True)
    sandbox.advance_clock(30)
    assert licence_at(sandbox, C2T, CONTOSO, "T2TUT").active is False


def test_an_expired_trial_is_not_billed(sandbox: Sandbox) -> None:
    amend(sandbox, "T2TUT", 0, 1)
    sandbox.advance_clock(30)
    # trial prices are 0 in the catalog, so prove "inactive is not billed" with a price book
    from dataclasses import replace

    catalog = sandbox.catalogs[C2T]
    priced = replace(catalog, products={**catalog.products, "T2TUT": replace(
        catalog.products["T2TUT"], monthly=Decimal("1.00"))})
    box = Sandbox(sandbox.path, catalogs={**sandbox.catalogs, C2T: priced})
    assert box.billed_monthly(C2T, CONTOSO) == Decimal("135.00")
