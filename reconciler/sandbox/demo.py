"""The demo live state: what the platforms hold before anyone applied accounts/*.yaml.

It differs from the demo files on purpose, so that ``reconciler plan`` on a fresh clone
shows a real plan for every platform:

* vertical-demo (iPECS): 297 is still on Basic User With VM, the pool has 2 Premium and 3
  Basic -> change order +1 Premium, confirm, Change Package 297, change order -1 Basic,
  confirm; 202 is named "Sales" (the file says "Sales Desk") -> Modify User.
* northwind (Mitel): 1003 on telephony (-> essentials: an upgrade), 1006 on advanced with
  contact-center (-> standard: a downgrade losing contact-center and video), 1007 missing
  (a new user: NRC + Teams set-up), 1099 "Old Conference Room" not in the file (unmanaged).
* contoso (Call2Teams): C2TU25 at 25 (the file says 30: Amend Subscription), a C2TUT trial
  that started 25 days before the clock's start (expires in 5 days: a warning).
* partner-internal (Call2Teams internal): C2TU-I25 at 10 (the file says 12: a Service Desk
  request).
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

from reconciler.model import ActualAccount, ActualUser, Licence, Site
from reconciler.sandbox.db import START_DATE
from reconciler.sandbox.state import put_account

_LONG_AGO = date(2025, 6, 1)


def _u(ext: int, name: str, profile: str, **kw: object) -> ActualUser:
    return ActualUser(extension=ext, user_id="", name=name, profile=profile, **kw)  # type: ignore[arg-type]


def _vertical_demo() -> ActualAccount:
    site = "Vertical Demo"
    basic, premium, vm = "Basic User With VM", "Premium iPECS ONE USER", "Stand Alone VM"
    return ActualAccount(
        platform="ipecs-cloud",
        external_id="C000000150",
        name="Vertical Demo",
        sites=(Site(site, 100, 299),),
        licences=(Licence(vm, 1), Licence(basic, 3), Licence(premium, 2)),
        users=(
            _u(297, "9240 Demo", basic, email="jstucker@vertical.com", site=site,
               caller_id="4704812858", call_barring="Site Call Barring Vertical Demo",
               fraud_limit=10000),
            _u(201, "Reception", premium, email="reception@vertical.com", site=site),
            _u(202, "Sales", premium, email="sales@vertical.com", site=site),
            _u(210, "Warehouse", basic, site=site),
            _u(211, "Loading Dock", basic, site=site),
            _u(250, "After Hours Voicemail", vm, site=site),
        ),
    )


def _northwind() -> ActualAccount:
    def fs(*a: str) -> frozenset[str]:
        return frozenset(a)

    return ActualAccount(
        platform="mitel-connect",
        external_id="CC-104233",
        name="Northwind Traders",
        users=(
            _u(1001, "Alice Archer", "advanced", email="alice@northwind.example",
               add_ons=fs("call-recording", "contact-center", "teams-integration")),
            _u(1002, "Bob Baker", "standard", email="bob@northwind.example", add_ons=fs("fax")),
            _u(1003, "Carol Chen", "telephony", email="carol@northwind.example"),
            _u(1004, "Dan Dorsey", "telephony", email="dan@northwind.example",
               add_ons=fs("call-recording")),
            _u(1005, "Lobby Phone", "courtesy"),
            _u(1006, "Erin Ellis", "advanced", email="erin@northwind.example",
               add_ons=fs("call-recording", "recording-archive", "contact-center")),
            _u(1099, "Old Conference Room", "courtesy"),
        ),
    )


def _contoso() -> ActualAccount:
    def pbx(ext: int, name: str, email: str, licence: str = "C2TU25") -> ActualUser:
        return _u(ext, name, "pbx", email=email, licence=licence)

    return ActualAccount(
        platform="call2teams",
        external_id="C2T-10042",
        name="Contoso Ltd",
        kind="client",
        licences=(
            Licence("C2TU25", 25, _LONG_AGO),
            Licence("T2TU1", 2, _LONG_AGO),
            # ordered 25 days before the clock's start: expires 5 days after it
            Licence("C2TUT", 2, START_DATE - timedelta(days=25)),
        ),
        users=(
            pbx(2001, "Ann Avery", "ann@contoso.example"),
            pbx(2002, "Ben Brooks", "ben@contoso.example"),
            pbx(2003, "Cat Cole", "cat@contoso.example"),
            pbx(2004, "Dev Dutta", "dev@contoso.example"),
            pbx(2005, "Eve Evans", "eve@contoso.example"),
            pbx(2006, "Fay Fox", "fay@contoso.example"),
            _u(2801, "Front Door Trunk", "trunk", licence="T2TU1"),
            _u(2802, "Fax Gateway Trunk", "trunk", licence="T2TU1"),
            pbx(2901, "Pilot One", "pilot1@contoso.example", "C2TUT"),
            pbx(2902, "Pilot Two", "pilot2@contoso.example", "C2TUT"),
        ),
    )


def _partner_internal() -> ActualAccount:
    def staff(ext: int, name: str, email: str) -> ActualUser:
        return _u(ext, name, "internal", email=email, licence="C2TU-I25")

    return ActualAccount(
        platform="call2teams",
        external_id="C2T-00001",
        name="Partner Internal",
        kind="internal",
        licences=(Licence("C2TU-I25", 10, _LONG_AGO),),
        users=(
            staff(100, "Partner Support", "support@partner.example"),
            staff(101, "Partner Sales", "sales@partner.example"),
            staff(102, "Partner NOC", "noc@partner.example"),
        ),
    )


def demo_accounts() -> tuple[ActualAccount, ...]:
    return (_vertical_demo(), _northwind(), _contoso(), _partner_internal())


def seed(c: sqlite3.Connection) -> None:
    """Write the demo live state (inside the caller's write transaction)."""
    for account in demo_accounts():
        put_account(c, account)
