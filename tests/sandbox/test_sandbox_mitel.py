"""Mitel Connect CLOUD rules, enforced by the sandbox in the portal's words."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sandbox_helpers import MITEL, NORTHWIND, do, step, user_at

from reconciler.config import Config, ProviderConfig
from reconciler.errors import PermissionDenied, PlatformError
from reconciler.model import ActualUser
from reconciler.plan import Step
from reconciler.sandbox import Sandbox

FRANK = {"name": "Frank Foster", "email": "frank@northwind.example", "profile": "standard",
         "add_ons": ["teams-integration"]}


def user(box: Sandbox, ext: int) -> ActualUser:
    return user_at(box, MITEL, NORTHWIND, ext)


def absent(box: Sandbox, ext: int) -> bool:
    return box.read_account(MITEL, NORTHWIND).user(ext) is None


def test_downgrade_swap_removes_add_ons_the_new_profile_does_not_allow(sandbox: Sandbox) -> None:
    out = do(sandbox, MITEL, NORTHWIND, step(
        "change_profile", user=1006,
        before={"profile": "advanced",
                "add_ons": ["call-recording", "contact-center", "recording-archive"]},
        after={"profile": "standard", "add_ons": ["call-recording", "recording-archive"]}))
    erin = user(sandbox, 1006)
    assert (erin.profile, sorted(erin.add_ons)) == ("standard",
                                                    ["call-recording", "recording-archive"])
    assert out.status == "done"
    assert "removed contact-center" in out.detail


def test_swap_to_telephony_drops_what_telephony_cannot_carry(sandbox: Sandbox) -> None:
    do(sandbox, MITEL, NORTHWIND, step("change_profile", user=1006,
                                       after={"profile": "telephony"}))
    assert user(sandbox, 1006).add_ons == {"call-recording"}


def test_swap_to_courtesy_removes_every_add_on(sandbox: Sandbox) -> None:
    do(sandbox, MITEL, NORTHWIND, step("change_profile", user=1001,
                                       after={"profile": "courtesy"}))
    assert user(sandbox, 1001).add_ons == frozenset()


def test_new_user_pays_profile_nrc_and_add_on_one_time_and_the_monthly(sandbox: Sandbox) -> None:
    before = sandbox.billed_monthly(MITEL, NORTHWIND)
    do(sandbox, MITEL, NORTHWIND, step("create_user", user=1007, after=FRANK))
    charges = sandbox.charges(MITEL, NORTHWIND)
    assert [(c["extension"], c["item"], c["amount"]) for c in charges] == [
        (1007, "NRC Standard CLOUD", "20.00"),
        (1007, "Add-on setup Microsoft Teams Integration", "25.00"),
    ]
    assert sandbox.billed_monthly(MITEL, NORTHWIND) - before == Decimal("29.00")


def test_a_swap_never_charges_the_nrc_again(sandbox: Sandbox) -> None:
    do(sandbox, MITEL, NORTHWIND, step("change_profile", user=1003,
                                       before={"profile": "telephony"},
                                       after={"profile": "essentials"}))
    assert user(sandbox, 1003).profile == "essentials"
    assert sandbox.charges(MITEL, NORTHWIND) == []


def test_add_on_not_available_on_the_profile_is_refused(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, MITEL, NORTHWIND, step(
            "create_user", user=1010,
            after={"name": "Gus", "profile": "standard", "add_ons": ["contact-center"]}))
    assert str(e.value) == ("The Contact Center Agent add-on feature is not available for the "
                            "Standard CLOUD profile type")
    with pytest.raises(PlatformError, match="Fax add-on feature is not available for the "
                                            "Courtesy CLOUD"):
        do(sandbox, MITEL, NORTHWIND, step("add_addon", user=1005, after={"add_on": "fax"}))
    assert absent(sandbox, 1010) and user(sandbox, 1005).add_ons == frozenset()


def test_an_add_on_needs_its_required_add_on(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, MITEL, NORTHWIND, step(
            "add_addon", user=1002, after={"add_on": "recording-archive"}))
    assert str(e.value) == "The Recording Archive add-on feature requires Call Recording"
    with pytest.raises(PlatformError) as e:
        do(sandbox, MITEL, NORTHWIND, step(
            "remove_addon", user=1006, before={"add_on": "call-recording"}))
    assert str(e.value) == ("Call Recording cannot be disabled while Recording Archive is "
                            "enabled: Recording Archive requires it")


def test_enabling_an_add_on_charges_its_one_time_once(sandbox: Sandbox) -> None:
    do(sandbox, MITEL, NORTHWIND, step("add_addon", user=1002,
                                       after={"add_on": "teams-integration"}))
    assert [c["amount"] for c in sandbox.charges(MITEL, NORTHWIND)] == ["25.00"]
    assert user(sandbox, 1002).add_ons == {"fax", "teams-integration"}
    with pytest.raises(PlatformError, match="already enabled"):
        do(sandbox, MITEL, NORTHWIND, step("add_addon", user=1002,
                                           after={"add_on": "teams-integration"}))


@pytest.mark.parametrize("role", ["billing-contact", "technical-contact", "emergency-contact"])
def test_only_decision_maker_or_phone_manager_may_swap_or_add(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, role: str
) -> None:
    monkeypatch.setenv("RECONCILER_MITEL_ROLE", role)
    box = Sandbox(sandbox.path)
    with pytest.raises(PermissionDenied) as e:
        do(box, MITEL, NORTHWIND, step("change_profile", user=1003,
                                       after={"profile": "essentials"}))
    assert str(e.value) == (
        "Only a Connect CLOUD Decision Maker or Phone Manager can swap profile types "
        f"(roles needed: decision-maker, phone-manager; this credential's role: {role})"
    )
    with pytest.raises(PermissionDenied, match="can add users"):
        do(box, MITEL, NORTHWIND, step("create_user", user=1007, after=FRANK))
    # editing a name is not a swap: any role may
    do(box, MITEL, NORTHWIND, step("update_user", user=1005, after={"name": "Lobby"}))
    assert user(box, 1003).profile == "telephony" and absent(box, 1007)


def test_the_role_comes_from_reconciler_yaml_and_phone_manager_may_swap(tmp_path: Path) -> None:
    def box(role: str) -> Sandbox:
        config = Config(providers={MITEL: ProviderConfig(options={"role": role})})
        return Sandbox(tmp_path / "s.db", config)

    with pytest.raises(PermissionDenied):
        do(box("billing-contact"), MITEL, NORTHWIND,
           step("change_profile", user=1003, after={"profile": "essentials"}))
    do(box("phone-manager"), MITEL, NORTHWIND,
       step("change_profile", user=1003, after={"profile": "essentials"}))
    assert user(box("phone-manager"), 1003).profile == "essentials"


@pytest.mark.parametrize(
    ("s", "message"),
    [
        (step("create_user", user=1001, after={"name": "Dup", "profile": "courtesy"}),
         "Extension 1001 is already assigned to another user"),
        (step("create_user", user=1011, after={"profile": "courtesy"}),
         "First and last name are required"),
        (step("create_user", user=1011, after={"name": "X", "profile": "premium"}),
         "Unknown profile type 'premium'"),
        (step("change_profile", user=1234, after={"profile": "standard"}),
         "User with extension 1234 was not found"),
        (step("change_profile", user=1003, before={"profile": "standard"},
              after={"profile": "advanced"}),
         "User 1003 has the Telephony CLOUD profile type, not Standard CLOUD"),
        (step("update_user", user=1003, after={"profile": "advanced"}),
         "profile cannot be changed with Edit User"),
        (step("renumber_user", user=1001, before={"extension": 1001},
              after={"extension": 1002}),
         "Extension 1002 is already assigned to another user"),
        (step("order_licences", licence="standard", after={"quantity": 1}),
         "mitel-connect has no operation 'order_licences'"),
    ],
)
def test_refusals(sandbox: Sandbox, s: Step, message: str) -> None:
    with pytest.raises(PlatformError) as e:
        do(sandbox, MITEL, NORTHWIND, s)
    assert str(e.value) == message


def test_renumber_keeps_the_user_and_delete_removes_it(sandbox: Sandbox) -> None:
    uid = user(sandbox, 1099).user_id
    do(sandbox, MITEL, NORTHWIND, step("renumber_user", user=1099,
                                       before={"extension": 1099}, after={"extension": 1098}))
    assert user(sandbox, 1098).user_id == uid and absent(sandbox, 1099)
    do(sandbox, MITEL, NORTHWIND, step("delete_user", user=1098))
    assert absent(sandbox, 1098)
