"""Policy verdicts: downgrade, prune, budget, internal SKU, destructive share."""

from __future__ import annotations

from decimal import Decimal

import pytest
from plan_builders import BASIC, C2T, IPECS, MITEL, PREMIUM, actual, au, desired, du, plan_of

from reconciler.model import DesiredUser, Policy
from reconciler.plan import Verdict

DOWNGRADE_1006 = Verdict(
    "downgrade",
    "downgrade not allowed: 1006 (Advanced CLOUD -> Standard CLOUD); set allow_downgrade: "
    "true on the user or in the account's policy, or pass --allow-downgrade",
)


def _downgrade(user_allows: bool | None = None, account_allows: bool = False,
               **options: bool) -> tuple[Verdict, ...]:
    d = desired(MITEL, du(1006, "standard", allow_downgrade=user_allows),
                policy=Policy(allow_downgrade=account_allows))
    return plan_of(d, actual(MITEL, au(1006, "advanced")), **options).blocked


@pytest.mark.parametrize(("user", "account", "option", "blocked"), [
    (None, False, False, True),
    (True, False, False, False),     # per user
    (None, True, False, False),      # account policy
    (None, False, True, False),      # --allow-downgrade
    (False, True, False, True),      # the user's own "no" wins over the account's "yes"
    (False, False, True, False),     # the command line allows every downgrade
])
def test_downgrade_needs_to_be_allowed(user: bool | None, account: bool, option: bool,
                                       blocked: bool) -> None:
    verdicts = _downgrade(user, account, allow_downgrade=option)
    assert verdicts == ((DOWNGRADE_1006,) if blocked else ())


def test_blocked_plan_still_has_its_steps() -> None:
    d = desired(MITEL, du(1006, "standard"))
    p = plan_of(d, actual(MITEL, au(1006, "advanced")))
    assert p.is_blocked
    assert [s.action for s in p.steps] == ["change_profile"]


def test_ipecs_downgrade_is_a_replace_and_needs_to_be_allowed() -> None:
    d = desired(IPECS, du(201, BASIC), licences={BASIC: 1, PREMIUM: 1})
    p = plan_of(d, actual(IPECS, au(201, PREMIUM), licences={BASIC: 1, PREMIUM: 1}))
    assert p.blocked == (Verdict(
        "downgrade",
        "downgrade not allowed: 201 (Premium iPECS ONE USER -> Basic User With VM); set "
        "allow_downgrade: true on the user or in the account's policy, or pass "
        "--allow-downgrade"),)


def test_upgrade_needs_nothing() -> None:
    p = plan_of(desired(MITEL, du(1003, "essentials")), actual(MITEL, au(1003, "telephony")))
    assert p.blocked == ()


def test_unmanaged_users_are_a_warning_not_a_block() -> None:
    d = desired(MITEL, du(1001, "standard"))
    p = plan_of(d, actual(MITEL, au(1001, "standard"), au(1099, "courtesy", name="Old Room")))
    assert p.blocked == (Verdict(
        "prune",
        "prune not allowed: 1 user on the platform not in the file, kept: 1099 (Old Room); "
        "mark them absent: true or set policy.prune: true",
        blocking=False),)
    assert not p.is_blocked
    assert p.unmanaged == ({"extension": 1099, "name": "Old Room", "profile": "courtesy"},)


def test_prune_verdict_names_ten_users_then_counts() -> None:
    a = actual(MITEL, *(au(1100 + i, "courtesy", name=f"R{i}") for i in range(12)))
    (v,) = plan_of(desired(MITEL), a).blocked
    assert v.message.startswith("prune not allowed: 12 users on the platform not in the "
                                "file, kept: 1100 (R0), 1101 (R1),")
    assert "1109 (R9) and 2 more; mark them absent" in v.message


def _mitel_spend() -> list[DesiredUser]:
    # 2 x (advanced 39 + contact-center 30) + standard 29 + (advanced 39 + recording 6) = 212
    return [du(1001, "advanced", add_ons=["contact-center"]),
            du(1002, "advanced", add_ons=["contact-center"]),
            du(1003, "standard", add_ons=[]),
            du(1004, "advanced", add_ons=["call-recording"])]


@pytest.mark.parametrize(("limit", "blocked"), [("150", True), ("211.99", True),
                                                ("212", False), ("300", False)])
def test_budget(limit: str, blocked: bool) -> None:
    d = desired(MITEL, *_mitel_spend(), policy=Policy(max_monthly_increase=Decimal(limit)))
    p = plan_of(d, actual(MITEL))
    assert p.cost.monthly_delta == Decimal("212.00")
    budget = [v for v in p.blocked if v.policy == "budget"]
    assert budget == ([Verdict(
        "budget",
        f"raises the monthly bill by 212.00 USD, over the account's max_monthly_increase of "
        f"{Decimal(limit):.2f}")] if blocked else [])


def test_no_budget_no_budget_verdict() -> None:
    assert plan_of(desired(MITEL, *_mitel_spend()), actual(MITEL)).blocked == ()


def test_internal_sku_on_a_client_blocks() -> None:
    d = desired(C2T, du(2001, "internal", licence="C2TU-I25"), licences={"C2TU-I25": 1})
    p = plan_of(d, actual(C2T))
    assert p.blocked == (Verdict(
        "internal-sku",
        "C2TU-I25 is an internal-use SKU, only for the partner's own staff: never on client "
        "account X-1"),)


def test_internal_sku_on_the_internal_account_is_fine() -> None:
    d = desired(C2T, du(100, "internal", licence="C2TU-I25"), licences={"C2TU-I25": 1},
                kind="internal")
    assert plan_of(d, actual(C2T, kind="internal")).blocked == ()


def _deleting(total: int, deleted: int, **kw: object) -> tuple[Verdict, ...]:
    users = [du(1000 + i, "courtesy") for i in range(total - deleted)]
    users += [du(1000 + i, absent=True) for i in range(total - deleted, total)]
    policy = kw.pop("policy", Policy())
    d = desired(MITEL, *users, policy=policy)  # type: ignore[arg-type]
    a = actual(MITEL, *(au(1000 + i, "courtesy") for i in range(total)))
    return plan_of(d, a, **kw).blocked  # type: ignore[arg-type]


def test_more_than_30_percent_destroyed_blocks_without_force() -> None:
    assert _deleting(12, 4) == (Verdict(
        "destructive-share",
        "deletes, replaces or downgrades 4 of 12 users (33%), over 30%; --force required"),)


@pytest.mark.parametrize(("total", "deleted", "kw"), [
    (12, 4, {"force": True}),
    (12, 3, {}),                                                  # 25%
    (10, 3, {}),                                                  # exactly 30%: not over
    (9, 5, {}),                                                   # under 10 users: not counted
    (12, 4, {"policy": Policy(destructive_share=Decimal("0.5"))}),  # account override
])
def test_destructive_share_does_not_block(total: int, deleted: int, kw: dict[str, object]) -> None:
    assert _deleting(total, deleted, **kw) == ()


def test_destructive_share_override_names_the_accounts_threshold() -> None:
    (v,) = _deleting(12, 4, policy=Policy(destructive_share=Decimal("0.25")))
    assert v.message == ("deletes, replaces or downgrades 4 of 12 users (33%), over 25%; "
                         "--force required")


def test_downgrades_and_deletes_count_together() -> None:
    users = [du(1000 + i, "courtesy") for i in range(8)]
    users += [du(1008, absent=True), du(1009, absent=True),
              du(1010, "courtesy", allow_downgrade=True),
              du(1011, "courtesy", allow_downgrade=True)]
    a = actual(MITEL, *(au(1000 + i, "courtesy") for i in range(10)),
               au(1010, "advanced"), au(1011, "standard"))
    assert plan_of(desired(MITEL, *users), a).blocked == (Verdict(
        "destructive-share",
        "deletes, replaces or downgrades 4 of 12 users (33%), over 30%; --force required"),)


def test_blocking_verdicts_come_before_warnings() -> None:
    d = desired(MITEL, du(1006, "standard"))
    a = actual(MITEL, au(1006, "advanced"), au(1099, "courtesy"))
    assert [v.policy for v in plan_of(d, a).blocked] == ["downgrade", "prune"]


def test_one_downgrade_verdict_names_every_refused_user() -> None:
    d = desired(MITEL, du(1004, "courtesy"), du(1006, "standard"),
                du(1007, "essentials", allow_downgrade=True))
    a = actual(MITEL, au(1004, "telephony"), au(1006, "advanced"), au(1007, "advanced"))
    assert plan_of(d, a).blocked == (Verdict(
        "downgrade",
        "downgrade not allowed: 1004 (Telephony CLOUD -> Courtesy CLOUD), 1006 (Advanced "
        "CLOUD -> Standard CLOUD); set allow_downgrade: true on the user or in the account's "
        "policy, or pass --allow-downgrade"),)
