"""Platform rules beyond the one-line cases of tests/cases: exact wording and positions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.accounts import load_accounts
from reconciler.errors import ValidationFailed

HEAD = {
    "mitel-connect": 'account: a\nplatform: mitel-connect\nexternal_id: "1"\n',
    "ipecs-cloud": 'account: a\nplatform: ipecs-cloud\nexternal_id: "1"\n'
    'sites:\n  Main: {extensions: "100-299"}\n',
    "call2teams": 'account: a\nplatform: call2teams\nexternal_id: "1"\n',
}


Validate = Callable[[str, str], list[str]]


@pytest.fixture
def validate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Validate:
    monkeypatch.chdir(tmp_path)

    def run(platform: str, body: str) -> list[str]:
        path = tmp_path / "a.yaml"
        path.write_text(HEAD[platform] + body)
        try:
            load_accounts(["a.yaml"])
        except ValidationFailed as e:
            return [str(x).removeprefix("a.yaml:") for x in e.errors]
        return []

    return run


# --------------------------------------------------------------------------- mitel


def test_mitel_add_on_for_the_top_profile_only(validate: Validate) -> None:
    body = "users:\n  - {extension: 1, profile: standard, add_ons: [contact-center]}\n"
    assert validate("mitel-connect", body) == [
        '5:49: add-on "contact-center" is not available on Standard CLOUD (standard); '
        "it needs advanced"
    ]


def test_mitel_add_ons_checked_without_a_profile_only_for_names(validate: Validate) -> None:
    body = "users:\n  - {extension: 1, add_ons: [fax, faxx]}\n"
    assert validate("mitel-connect", body) == ['5:35: unknown add-on "faxx" (did you mean "fax"?)']


def test_mitel_every_user_is_checked(validate: Validate) -> None:
    body = (
        "users:\n"
        "  - {extension: 1, profile: courtesy, add_ons: [call-recording]}\n"
        "  - {extension: 2, profile: telephony, add_ons: [recording-archive, call-recording]}\n"
        "  - {extension: 3, profile: advanced, add_ons: [recording-archive, call-recording]}\n"
    )
    assert validate("mitel-connect", body) == [
        '5:49: add-on "call-recording" is not available on Courtesy CLOUD (courtesy); '
        "it needs telephony or higher",
        '6:50: add-on "recording-archive" is not available on Telephony CLOUD (telephony); '
        "it needs standard or higher",
    ]


# --------------------------------------------------------------------------- ipecs


def test_ipecs_counts_ignore_absent_users(validate: Validate) -> None:
    body = (
        "licences:\n  Basic User With VM: 1\n"
        "users:\n"
        "  - {extension: 101, profile: Basic User With VM}\n"
        "  - {extension: 102, profile: Basic User With VM, absent: true}\n"
    )
    assert validate("ipecs-cloud", body) == []


def test_ipecs_declared_licences_are_the_whole_pool(validate: Validate) -> None:
    body = (
        "licences:\n  Basic User With VM: 1\n"
        "users:\n"
        "  - {extension: 101, profile: Basic User With VM}\n"
        "  - {extension: 103, profile: Stand Alone VM}\n"
        "  - {extension: 104, profile: Stand Alone VM}\n"
    )
    assert validate("ipecs-cloud", body) == [
        "6:1: licences: Stand Alone VM is not listed, but 2 users are on it; add "
        '"Stand Alone VM: 2" (a declared licences mapping is the whole pool)'
    ]


def test_empty_licences_means_none(validate: Validate) -> None:
    body = "licences: {}\nusers:\n  - {extension: 101, profile: Stand Alone VM}\n"
    assert validate("ipecs-cloud", body) == [
        "6:1: licences: Stand Alone VM is not listed, but 1 user is on it; add "
        '"Stand Alone VM: 1" (a declared licences mapping is the whole pool)'
    ]


def test_ipecs_one_user_over_the_count(validate: Validate) -> None:
    body = "licences:\n  Stand Alone VM: 0\nusers:\n  - {extension: 101, profile: Stand Alone VM}\n"
    assert validate("ipecs-cloud", body) == [
        "7:3: licences: Stand Alone VM: 0 is fewer than the 1 user on it; declare at least 1 "
        "or move users off it"
    ]


def test_ipecs_unknown_licence_key(validate: Validate) -> None:
    assert validate("ipecs-cloud", "licences:\n  Basic User: 2\n") == [
        '7:3: unknown package "Basic User" (did you mean "Basic User With VM"?)'
    ]


def test_ipecs_caller_id_must_be_quoted(validate: Validate) -> None:
    body = "users:\n  - {extension: 101, caller_id: 4704812858}\n"
    assert validate("ipecs-cloud", body) == [
        '7:33: caller_id must be a string, found 4704812858; quote it: "4704812858"'
    ]


# --------------------------------------------------------------------------- renumbering


def test_renumbered_from_own_extension_and_twice(validate: Validate) -> None:
    body = (
        "users:\n"
        "  - {extension: 101, renumbered_from: 101}\n"
        "  - {extension: 102, renumbered_from: 150}\n"
        "  - {extension: 103, renumbered_from: 150}\n"
    )
    assert validate("ipecs-cloud", body) == [
        "7:39: renumbered_from 101 is the user's own extension; remove it",
        "9:39: renumbered_from 150 is also claimed by the user at line 8; only one user can "
        "have had that extension",
    ]


def test_renumbering_to_a_free_extension_is_fine(validate: Validate) -> None:
    body = "users:\n  - {extension: 102, renumbered_from: 101}\n"
    assert validate("ipecs-cloud", body) == []


# --------------------------------------------------------------------------- call2teams


def test_call2teams_subscription_below_its_users(validate: Validate) -> None:
    body = (
        "licences: {C2TU1: 1}\n"
        "users:\n  - {extension: 1, profile: pbx}\n  - {extension: 2, profile: pbx}\n"
    )
    assert validate("call2teams", body) == [
        "4:12: licences: C2TU1: 1 is fewer than the 2 users on it; declare at least 2 or move "
        "users off it"
    ]


def test_call2teams_internal_account_may_hold_internal_skus(validate: Validate) -> None:
    body = "kind: internal\nlicences: {C2TU-I1: 1}\nusers:\n  - {extension: 1, profile: internal}\n"
    assert validate("call2teams", body) == []


def test_call2teams_user_on_an_internal_sku_of_a_client(validate: Validate) -> None:
    body = "users:\n  - {extension: 1, profile: pbx, licence: C2TU-I1}\n"
    assert validate("call2teams", body) == [
        "5:43: C2TU-I1 is an internal-use SKU, only for the partner's own account "
        "(kind: internal), never a client account"
    ]


def test_call2teams_site_and_caller_id_are_not_its_fields(validate: Validate) -> None:
    body = "users:\n  - {extension: 1, profile: pbx, licence: C2TU1, caller_id: '1', site: X}\n"
    fields = "(their platform fields: name, email, profile, licence)"
    assert validate("call2teams", body) == [
        f'5:50: field "caller_id" is not used on Call2Teams users; remove it {fields}',
        f'5:66: field "site" is not used on Call2Teams users; remove it {fields}',
    ]
