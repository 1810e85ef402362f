"""`reconciler import`: an account file from live state that validates, reads back as the
live state, and plans to no changes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from reconciler.accounts import load_accounts
from reconciler.cli import cli
from reconciler.config import Config
from reconciler.importer import SCHEMA_HEADER, yaml_scalar
from reconciler.model import ActualAccount, ActualUser, DesiredAccount, Licence, Site
from reconciler.platforms import PLATFORMS
from reconciler.sandbox import FAULTS_ENV, Sandbox
from reconciler.yamlload import loads_yaml

DEMO = [
    ("ipecs-cloud", "C000000150", "vertical-demo"),
    ("mitel-connect", "CC-104233", "northwind-traders"),
    ("call2teams", "C2T-10042", "contoso-ltd"),
    ("call2teams", "C2T-00001", "partner-internal"),
]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(FAULTS_ENV, raising=False)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def import_to(platform: str, external_id: str, out: Path) -> DesiredAccount:
    result = run("import", "--platform", platform, "--external-id", external_id, "-o", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {out}\n"
    (desired,) = load_accounts([str(out)], Config())  # schema + platform rules pass
    return desired


def assert_same_as_live(desired: DesiredAccount, live: ActualAccount) -> None:
    assert (desired.platform, desired.external_id, desired.name, desired.kind) == (
        live.platform, live.external_id, live.name, live.kind)
    assert desired.sites == live.sites
    if live.platform == "mitel-connect":
        assert desired.licences is None
    else:
        assert dict(desired.licences or {}) == {lic.key: lic.quantity for lic in live.licences}
    managed = PLATFORMS[live.platform].user_fields
    assert [u.extension for u in desired.users] == [u.extension for u in live.users]
    for want, have in zip(desired.users, live.users, strict=True):
        for name in managed:
            value = getattr(want, name)
            live_value = getattr(have, name)
            if name == "add_ons":
                live_value = frozenset(live_value)
            assert value == live_value, (want.extension, name)


@pytest.mark.parametrize(("platform", "external_id", "slug"), DEMO)
def test_import_round_trips_every_demo_account(
    here: Path, platform: str, external_id: str, slug: str
) -> None:
    out = here / "accounts" / f"{slug}.yaml"
    desired = import_to(platform, external_id, out)
    assert desired.slug == slug
    assert out.read_text().startswith(SCHEMA_HEADER + "\n# Imported from ")
    live = Sandbox(here / ".reconciler" / "sandbox.db").read_account(platform, external_id)
    assert_same_as_live(desired, live)
    # and a plan of the imported file reports no changes
    plan = run("plan", "--detailed-exitcode", str(out))
    assert plan.exit_code == 0, plan.output
    assert "no changes" in plan.output


def test_import_writes_the_demo_file_layout(here: Path) -> None:
    text = run("import", "--platform", "ipecs-cloud", "--external-id", "C000000150").output
    assert text.splitlines()[:14] == [
        SCHEMA_HEADER,
        "# Imported from iPECS Cloud account C000000150 on 2026-11-02: the live state as it "
        "was.",
        "account: vertical-demo",
        "platform: ipecs-cloud",
        "external_id: C000000150",
        "name: Vertical Demo",
        "sites:",
        '  Vertical Demo: {extensions: "100-299"}',
        "licences:  # the licence pool: confirmed counts per package",
        "  Basic User With VM: 3",
        "  Premium iPECS ONE USER: 2",
        "  Stand Alone VM: 1",
        "users:",
        "  - extension: 201",
    ]
    assert '    caller_id: "4704812858"' in text.splitlines()


def test_import_notes_a_trial_and_a_pending_order(here: Path) -> None:
    from reconciler.plan import Step

    box = Sandbox(here / ".reconciler" / "sandbox.db")
    box.perform("ipecs-cloud", "C000000150", Step(
        id="o", action="order_licences", licence="Stand Alone VM", before={"quantity": 1},
        after={"quantity": 2}), "k-order")
    ipecs = run("import", "--platform", "ipecs-cloud", "--external-id", "C000000150").output
    assert ("# change order 503037 (Stand Alone VM +1) is approved: not counted above until "
            "final-confirmed") in ipecs.splitlines()
    c2t = run("import", "--platform", "call2teams", "--external-id", "C2T-10042").output
    assert "  C2TUT: 2  # trial: ends 2026-11-07" in c2t.splitlines()


def test_names_yaml_would_misread_are_quoted_and_read_back(here: Path) -> None:
    box = Sandbox(here / ".reconciler" / "sandbox.db", demo_state=False)
    tricky = ["yes", "0102", "Null", "on", "12:30", "# not a comment", "- dash", "x: y",
              "1e3", "2026-11-02", "  padded ", 'say "hi"', "Zoë \u2028 line", "~"]
    box.load_state([ActualAccount(
        "ipecs-cloud", "C000000999", "no", sites=(Site("On", 100, 299),),
        licences=(Licence("Stand Alone VM", len(tricky)),),
        users=tuple(ActualUser(extension=100 + i, user_id="", name=name, site="On",
                               profile="Stand Alone VM", caller_id="0102",
                               call_barring=name)
                    for i, name in enumerate(tricky)),
    )])
    desired = import_to("ipecs-cloud", "C000000999", here / "accounts" / "x.yaml")
    assert desired.name == "no" and desired.slug == "no"
    assert [u.name for u in desired.users] == tricky
    assert {u.caller_id for u in desired.users} == {"0102"}
    assert_same_as_live(desired, box.read_account("ipecs-cloud", "C000000999"))


@pytest.mark.parametrize(
    ("value", "text"),
    [("Vertical Demo", "Vertical Demo"), ("9240 Demo", "9240 Demo"),
     ("4704812858", '"4704812858"'), ("yes", '"yes"'), ("0102", '"0102"'), ("", '""'),
     ("y", '"y"'), ("0o17", '"0o17"'), ("a@b.example", "a@b.example"), (10000, "10000")],
)
def test_yaml_scalar_quotes_only_what_needs_it(value: object, text: str) -> None:
    assert yaml_scalar(value) == text


@given(st.text())
def test_yaml_scalar_reads_back_as_the_same_string(value: str) -> None:
    doc = f"k: {yaml_scalar(value)}\n"
    assert yaml.safe_load(doc) == {"k": value}
    assert loads_yaml(doc) == {"k": value}


def test_import_refuses_to_overwrite_and_names_a_missing_account(here: Path) -> None:
    out = here / "x.yaml"
    out.write_text("mine\n")
    result = run("import", "--platform", "mitel-connect", "--external-id", "CC-104233",
                 "-o", str(out))
    assert (result.exit_code, result.output) == (
        1, f"error: {out} exists: choose another -o or add --force\n")
    assert out.read_text() == "mine\n"
    assert run("import", "--platform", "mitel-connect", "--external-id", "CC-104233",
               "-o", str(out), "--force").exit_code == 0
    missing = run("import", "--platform", "ipecs-cloud", "--external-id", "C000000001")
    assert (missing.exit_code, missing.output) == (
        1, "error: Customer C000000001 does not exist\n")


def test_import_refuses_an_output_name_validate_would_refuse(here: Path) -> None:
    result = run("import", "--platform", "mitel-connect", "--external-id", "CC-104233",
                 "-o", "x.txt")
    assert (result.exit_code, result.output) == (
        1, "error: -o x.txt: an account file must end in .yaml or .yml\n")
    assert not (here / "x.txt").exists()


def test_import_that_cannot_write_says_error_on_one_line(here: Path) -> None:
    (here / "file").write_text("")
    out = here / "file" / "x.yaml"  # a file where a directory should be
    result = run("import", "--platform", "mitel-connect", "--external-id", "CC-104233",
                 "-o", str(out))
    assert result.exit_code == 1
    assert result.output.startswith(f"error: cannot write {out} (")
    assert result.output.count("\n") == 1


# ------------------------------------------------------------------ import --all


def test_import_all_writes_every_account_once_and_plans_clean(here: Path) -> None:
    result = run("import", "--all", "--dir", "fleet")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (here / "fleet").glob("*.yaml"))
    assert files == ["contoso-ltd.yaml", "northwind-traders.yaml", "partner-internal.yaml",
                     "vertical-demo.yaml"]
    assert result.stderr.splitlines()[-1] == "imported 4 account(s), skipped 0"
    # one process, one file per platform account: a plan of them changes nothing
    plan = run("plan", "fleet", "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output


def test_import_all_leaves_existing_files_alone_unless_forced(here: Path) -> None:
    (here / "fleet").mkdir()
    (here / "fleet" / "vertical-demo.yaml").write_text("# mine\n")
    result = run("import", "--all", "--dir", "fleet", "--platform", "ipecs-cloud")
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "skipped fleet/vertical-demo.yaml (ipecs-cloud C000000150): it exists; --force "
        "overwrites it",
        "imported 0 account(s), skipped 1",
    ]
    assert (here / "fleet" / "vertical-demo.yaml").read_text() == "# mine\n"
    forced = run("import", "--all", "--dir", "fleet", "--platform", "ipecs-cloud", "--force")
    assert forced.exit_code == 0
    assert (here / "fleet" / "vertical-demo.yaml").read_text().startswith(SCHEMA_HEADER)


@pytest.mark.parametrize(("args", "message"), [
    (["--all", "--external-id", "X"], "--all imports every account: drop --external-id and -o"),
    (["--platform", "ipecs-cloud"], "give --platform and --external-id, or --all"),
])
def test_import_all_or_one_account_never_both(here: Path, args: list[str], message: str) -> None:
    result = run("import", *args)
    assert result.exit_code == 1
    assert message in result.output
