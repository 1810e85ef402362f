"""A hand-built plan with every step action, a blocking and a warning verdict, unmanaged
users and an account without changes: the input of the golden-file tests of the renderers.
"""

from __future__ import annotations

import os
from decimal import Decimal as D
from pathlib import Path

from reconciler.plan import AccountPlan, Cost, Plan, Step, Verdict

CREATED_AT = "2026-01-01T00:00:00+00:00"
FP = "sha256:" + "ab" * 32


def mitel() -> AccountPlan:
    return AccountPlan(
        account="northwind",
        platform="mitel-connect",
        external_id="CC-104233",
        fingerprint=FP,
        path="accounts/northwind-mitel.yaml",
        steps=(
            Step("s1", "renumber_user", user=1009, before={"extension": 1009},
                 after={"extension": 1010}, name="Gus Grant"),
            Step("s2", "change_profile", user=1003, before={"profile": "telephony", "add_ons": []},
                 after={"profile": "essentials", "add_ons": []}, monthly_delta=D("8.00"),
                 name="Carol Chen"),
            Step("s3", "change_profile", user=1006,
                 before={"profile": "advanced",
                         "add_ons": ["call-recording", "contact-center", "recording-archive"]},
                 after={"profile": "standard", "add_ons": ["call-recording", "recording-archive"]},
                 monthly_delta=D("-27.00"), name="Erin Ellis",
                 warnings=("downgrade advanced -> standard: loses add-on contact-center and "
                           "included video",)),
            Step("s4", "add_addon", user=1003, after={"add_on": "fax"}, monthly_delta=D("4.50"),
                 depends_on=("s2",), name="Carol Chen"),
            Step("s5", "remove_addon", user=1004, before={"add_on": "call-recording"},
                 monthly_delta=D("-5.00"), name="Dan Dorsey"),
            Step("s6", "update_user", user=1002,
                 before={"name": "Bob B", "email": "bob@old.example"},
                 after={"name": "Bob Baker", "email": "bob@northwind.example"}),
            Step("s7", "create_user", user=1008,
                 after={"extension": 1008, "name": "Gina Gray", "email": "gina@northwind.example",
                        "profile": "standard", "add_ons": ["teams-integration"]},
                 monthly_delta=D("30.00"), one_time=D("75.00")),
            Step("s8", "delete_user", user=1011,
                 before={"extension": 1011, "name": "Old Temp", "profile": "telephony"},
                 monthly_delta=D("-12.00"), depends_on=("s1",)),
        ),
        cost=Cost(D("250.00"), D("248.50"), D("75.00")),
        warnings=("prices are sample list prices; set a pricebook.yaml",),
        blocked=(Verdict("downgrade", "1006 Erin Ellis: downgrade advanced -> standard is not "
                                      "allowed; set allow_downgrade or pass --allow-downgrade"),),
        unmanaged=({"extension": 1020, "name": "Kiosk", "profile": "courtesy"},),
    )


def ipecs() -> AccountPlan:
    pkg, basic = "Premium iPECS ONE USER", "Basic User With VM"
    return AccountPlan(
        account="vertical-demo",
        platform="ipecs-cloud",
        external_id="C000000150",
        fingerprint=FP,
        path="accounts/vertical-demo.yaml",
        steps=(
            Step("s1", "order_licences", licence=pkg, before={"quantity": 2},
                 after={"quantity": 3}, mode="approval"),
            Step("s2", "confirm_order", licence=pkg, after={"quantity": 3}, depends_on=("s1",),
                 monthly_delta=D("22.00")),
            Step("s3", "change_profile", user=297, before={"profile": basic},
                 after={"profile": pkg}, depends_on=("s2",), name="9240 Demo"),
            Step("s4", "return_licences", licence=basic, before={"quantity": 3},
                 after={"quantity": 2}, mode="approval", depends_on=("s3",)),
            Step("s5", "confirm_order", licence=basic, after={"quantity": 2},
                 depends_on=("s4",), monthly_delta=D("-14.00")),
            Step("s6", "confirm_order", licence="Stand Alone VM", after={"quantity": 2},
                 params={"order_id": "CO-7781"}, monthly_delta=D("5.00")),
            Step("s7", "replace_user", user=210,
                 before={"extension": 210, "name": "Warehouse", "profile": basic,
                         "email": "wh@vertical.com"},
                 after={"extension": 210, "name": "Warehouse", "profile": "Stand Alone VM",
                        "email": "wh@vertical.com"},
                 depends_on=("s6",), warnings=("replaces the user: voicemail and settings are "
                                               "lost",)),
        ),
        cost=Cost(D("120.00"), D("133.00"), D("0.00")),
    )


def contoso() -> AccountPlan:
    return AccountPlan(
        account="contoso",
        platform="call2teams",
        external_id="C2T-10042",
        fingerprint=FP,
        path="accounts/contoso-c2t.yaml",
        steps=(
            Step("s1", "order_licences", licence="C2TU25", before={"quantity": 0},
                 after={"quantity": 26}, monthly_delta=D("130.00")),
            Step("s2", "change_profile", user=2001, before={"licence": "C2TU1"},
                 after={"licence": "C2TU25"}, depends_on=("s1",), name="Ann Avery"),
            Step("s3", "return_licences", licence="C2TU1", before={"quantity": 26},
                 after={"quantity": 0}, monthly_delta=D("-156.00"), depends_on=("s2",)),
        ),
        cost=Cost(D("156.00"), D("130.00"), D("0.00")),
        warnings=("trial C2TUT expires on 2026-01-05 (in 4 days): 2 users lose service",),
    )


def partner() -> AccountPlan:
    return AccountPlan(
        account="partner-internal",
        platform="call2teams",
        external_id="C2T-00001",
        fingerprint=FP,
        path="accounts/partner-internal.yaml",
        steps=(
            Step("s1", "manual", licence="C2TU-I25", before={"quantity": 10},
                 after={"quantity": 12}, mode="manual", monthly_delta=D("4.00"),
                 params={"request": "Please amend C2TU-I25 on account C2T-00001 from 10 to 12."}),
        ),
        cost=Cost(D("20.00"), D("24.00"), D("0.00")),
        blocked=(Verdict("prune", "1 user on the platform is not in the file", blocking=False),),
    )


def quiet() -> AccountPlan:
    return AccountPlan(
        account="quiet",
        platform="ipecs-cloud",
        external_id="C000000999",
        fingerprint=FP,
        path="accounts/quiet.yaml",
        steps=(),
        cost=Cost(D("40.00"), D("40.00"), D("0.00")),
    )


def sample_plan() -> Plan:
    return Plan(accounts=(mitel(), ipecs(), contoso(), partner(), quiet()), created_at=CREATED_AT)


GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with tests/golden/<name>; ``UPDATE_GOLDEN=1`` rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; run the tests with UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden file (UPDATE_GOLDEN=1 rewrites it)"
