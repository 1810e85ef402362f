"""reconciler.accounts: discovery, the desired model with marks, defaults filled in, and
the errors collected across files."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.accounts import discover, load_account, load_accounts
from reconciler.config import Config
from reconciler.errors import InputError, ValidationFailed
from reconciler.model import Mark, Site

REPO = Path(__file__).parent.parent
C2T = 'account: acme\nplatform: call2teams\nexternal_id: "C2T-1"\n'
IPECS = 'account: acme\nplatform: ipecs-cloud\nexternal_id: "C1"\n'


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accounts").mkdir()
    return tmp_path / "accounts"


def errors_of(paths: list[str], config: Config | None = None) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_accounts(paths, config)
    return [str(e) for e in info.value.errors]


# --------------------------------------------------------------------------- discover


def test_discover_a_directory_sorted_yaml_and_yml_only(accounts: Path) -> None:
    for name in ("b.yml", "a.yaml", "c.txt", "README.md"):
        (accounts / name).write_text("x: 1\n")
    (accounts / "sub").mkdir()
    (accounts / "sub" / "d.yaml").write_text("x: 1\n")
    assert [p.name for p in discover(["accounts"])] == ["a.yaml", "b.yml"]


def test_discover_refuses_a_named_file_that_is_not_yaml(accounts: Path) -> None:
    (accounts / "notes.txt").write_text("x")
    with pytest.raises(ValidationFailed) as info:
        discover(["accounts/notes.txt"])
    assert str(info.value) == (
        "accounts/notes.txt:1:1: not an account file: account files end in .yaml or .yml"
    )


def test_discover_missing_path(accounts: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        discover(["nowhere"])
    assert str(info.value) == "nowhere: no such file or directory"


def test_a_broken_symlink_in_a_directory_is_an_error_not_skipped(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS)
    (accounts / "broken.yaml").symlink_to("gone.yaml")
    assert errors_of(["accounts"]) == [
        "accounts/broken.yaml: broken symbolic link (its target gone.yaml does not exist); "
        "fix or remove it"
    ]
    assert errors_of(["accounts/broken.yaml"]) == [
        "accounts/broken.yaml: broken symbolic link (its target gone.yaml does not exist); "
        "fix or remove it"
    ]


def test_a_directory_with_only_a_broken_symlink_names_it(accounts: Path) -> None:
    (accounts / "broken.yaml").symlink_to("gone.yaml")
    assert errors_of(["accounts"]) == [
        "accounts/broken.yaml: broken symbolic link (its target gone.yaml does not exist); "
        "fix or remove it"
    ]


def test_a_file_named_twice_is_read_once(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS)
    assert len(load_accounts(["accounts", "accounts/a.yaml", "./accounts/a.yaml"])) == 1


# --------------------------------------------------------------------------- the model


def test_demo_accounts_load_into_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    loaded = {a.slug: a for a in load_accounts()}
    assert sorted(loaded) == ["contoso", "northwind", "partner-internal", "vertical-demo"]
    vertical = loaded["vertical-demo"]
    assert vertical.external_id == "C000000150"
    assert vertical.sites == (Site("Vertical Demo", 100, 299),)
    assert vertical.licences is None
    demo = vertical.users[0]
    assert (demo.extension, demo.name, demo.profile) == (297, "9240 Demo", "Premium iPECS ONE USER")
    assert demo.caller_id == "4704812858"
    assert demo.fraud_limit == 10000
    assert demo.add_ons is None  # omitted: not managed
    northwind = loaded["northwind"]
    assert northwind.policy.max_monthly_increase == Decimal("150")
    assert northwind.users[2].add_ons == frozenset()  # []: none
    assert northwind.users[0].add_ons == {"call-recording", "contact-center", "teams-integration"}
    assert loaded["partner-internal"].kind == "internal"


def test_marks_point_at_each_field(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(
        IPECS + 'sites:\n  Main: {extensions: "100-299"}\nlicences:\n  Basic User With VM: 3\n'
        "users:\n  - extension: 101\n    profile: Basic User With VM\n"
    )
    account = load_account("accounts/a.yaml")
    name = "accounts/a.yaml"
    assert account.mark == Mark(name, 1, 1)
    assert account.where("external_id") == Mark(name, 3, 14)
    assert account.where("sites.Main") == Mark(name, 5, 3)
    assert account.where("sites.Main.extensions") == Mark(name, 5, 22)
    assert account.where("licences") == Mark(name, 6, 1)
    assert account.where("licences.Basic User With VM") == Mark(name, 7, 3)
    user = account.users[0]
    assert user.mark == Mark(name, 9, 5)
    assert user.where("profile") == Mark(name, 10, 14)
    assert user.where("email") == user.mark  # not written: the user's own mark


def test_add_on_marks_point_at_each_item(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(
        'account: a\nplatform: mitel-connect\nexternal_id: "1"\n'
        "users:\n  - extension: 1\n    add_ons: [fax, call-recording]\n"
    )
    user = load_account("accounts/a.yaml").users[0]
    assert user.where("add_ons") == Mark("accounts/a.yaml", 6, 5)
    assert user.where("add_ons.call-recording") == Mark("accounts/a.yaml", 6, 20)


def test_load_account_raises_every_schema_error(accounts: Path) -> None:
    (accounts / "a.yaml").write_text("account: A\nplatform: x\nexternal_id: '1'\n")
    with pytest.raises(ValidationFailed) as info:
        load_account("accounts/a.yaml")
    assert [e.mark.line for e in info.value.errors if e.mark] == [1, 2]


# --------------------------------------------------------------------------- defaults


def test_policy_defaults_from_config_under_the_accounts_own(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS + "policy: {prune: true}\n")
    config = Config(
        policy={"prune": False, "allow_downgrade": True, "max_monthly_increase": Decimal("99.50")}
    )
    policy = load_accounts(["accounts"], config)[0].policy
    assert policy.prune is True  # the account's own
    assert policy.allow_downgrade is True  # from reconciler.yaml
    assert policy.max_monthly_increase == Decimal("99.50")


def test_max_monthly_increase_as_a_string_is_exact(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS + 'policy: {max_monthly_increase: "0.10"}\n')
    assert load_accounts(["accounts"])[0].policy.max_monthly_increase == Decimal("0.10")


def test_ipecs_user_without_site_gets_the_only_site(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(
        IPECS + 'sites:\n  Main: {extensions: "100-299"}\nusers:\n  - {extension: 101}\n'
    )
    assert load_accounts(["accounts"])[0].users[0].site == "Main"


def test_ipecs_user_without_site_when_no_site_is_declared(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS + "users:\n  - {extension: 101}\n")
    assert errors_of(["accounts"]) == [
        "accounts/a.yaml:5:5: site: which site? declare the account's sites (e.g. sites: "
        '{Main: {extensions: "100-299"}}) and set site: on the user'
    ]


def test_call2teams_licence_resolves_to_the_only_sku_of_the_kind(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(
        C2T + "licences: {C2TU25: 30, C2TUT: 2, T2TU1: 1}\n"
        "users:\n  - {extension: 1, profile: pbx}\n  - {extension: 2, profile: trunk}\n"
        "  - {extension: 3, licence: C2TUT}\n"
    )
    users = load_accounts(["accounts"])[0].users
    assert [(u.profile, u.licence) for u in users] == [
        ("pbx", "C2TU25"),  # the trial is not a default
        ("trunk", "T2TU1"),
        ("pbx", "C2TUT"),  # the kind follows from the SKU
    ]


def test_call2teams_licence_without_declared_licences(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(C2T + "users:\n  - {extension: 1, profile: trunk}\n")
    assert errors_of(["accounts"]) == [
        "accounts/a.yaml:5:5: licence: which subscription? declare licences with one SKU for "
        "trunk users or set licence: on the user"
    ]


def test_absent_users_need_no_licence(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(
        C2T + "licences: {C2TU1: 0}\nusers:\n  - {extension: 1, profile: pbx, absent: true}\n"
    )
    assert load_accounts(["accounts"])[0].users[0].absent is True


# --------------------------------------------------------------------------- errors


def test_errors_of_all_files_sorted_by_file_and_line(accounts: Path) -> None:
    (accounts / "b.yaml").write_text(IPECS.replace("acme", "b") + "name: 5\n")
    (accounts / "a.yaml").write_text("account: a\n  bad: [\n")
    (accounts / "c.yaml").write_text(IPECS.replace("acme", "c").replace("C1", "C3"))
    lines = errors_of(["accounts"])
    assert [line.split(":")[0] for line in lines] == ["accounts/a.yaml", "accounts/b.yaml"]
    assert lines[1] == 'accounts/b.yaml:4:7: name must be a string, found 5; quote it: "5"'


def test_same_external_id_on_two_platforms_is_allowed(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS)
    (accounts / "b.yaml").write_text(C2T.replace("acme", "b").replace("C2T-1", "C1"))
    assert len(load_accounts(["accounts"])) == 2


def test_only_one_account(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS)
    (accounts / "b.yaml").write_text(C2T.replace("acme", "bravo"))
    assert [a.slug for a in load_accounts(["accounts"], only="bravo")] == ["bravo"]
    with pytest.raises(InputError) as info:
        load_accounts(["accounts"], only="brvo")
    assert str(info.value) == 'no account "brvo" in accounts (did you mean "bravo"?)'


def test_only_still_refuses_an_invalid_other_file(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(IPECS)
    (accounts / "b.yaml").write_text("oops")
    with pytest.raises(ValidationFailed):
        load_accounts(["accounts"], only="acme")


def test_flow_style_user_errors_point_inside_the_line(accounts: Path) -> None:
    (accounts / "a.yaml").write_text(
        C2T + "licences: {C2TU1: 1}\nusers:\n  - {extension: 7, profile: pbz}\n"
    )
    assert errors_of(["accounts"]) == [
        'accounts/a.yaml:6:29: profile "pbz" is not a Call2Teams user kind '
        '(did you mean "pbx"?); use pbx, trunk or internal'
    ]
