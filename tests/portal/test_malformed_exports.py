"""A broken export is one line, ``file:line: message``, exit 1, no traceback, no plan."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from portal_helpers import workspace

from reconciler.cli import cli
from reconciler.errors import InputError
from reconciler.platforms import PLATFORMS
from reconciler.portal.provider import PortalProvider

HEADER = "Name,Extension,Email,Profile Type,Add-Ons\n"
ALICE = "Alice Archer,1001,alice@northwind.example,Advanced CLOUD,Call Recording\n"
BOB = "Bob Baker,1002,bob@northwind.example,Standard CLOUD,Fax\n"
USERS = "exports/CC-104233/users"

CASES = {
    "missing-column": (
        ".csv", (b"Name,Extension,Email\nAlice Archer,1001,a@x.example\n"),
        f'{USERS}.csv:1: missing column "Profile Type" in the Connect Portal users list '
        "(Phone System > Users) (needs: Name, Extension, Profile Type)",
    ),
    "bad-number": (
        ".csv", (HEADER + ALICE + "Bob Baker,10O2,bob@x.example,Standard CLOUD,\n").encode(),
        f'{USERS}.csv:3: Extension: "10O2" is not a whole number',
    ),
    "duplicate-extension": (
        ".csv", (HEADER + ALICE + BOB + ALICE.replace("Alice Archer", "Al")).encode(),
        f"{USERS}.csv:4: extension 1001 appears twice (first on line 2)",
    ),
    "unknown-profile": (
        ".csv", (HEADER + "Bob Baker,1002,b@x.example,Standrd CLOUD,\n").encode(),
        f'{USERS}.csv:2: Profile Type: unknown "Standrd CLOUD" (did you mean "Standard CLOUD"?)',
    ),
    "not-a-spreadsheet": (
        ".xlsx", b"Name,Extension\nAlice,1001\n",
        f"{USERS}.xlsx: not an Excel workbook (.xlsx) (BadZipFile); download the list again "
        "or save it as .xlsx or CSV",
    ),
    "spreadsheet-named-csv": (
        ".csv", b"PK\x03\x04\x14\x00\x00\x00binary",
        f"{USERS}.csv: not a CSV text file (is it a spreadsheet saved as .csv? save it as "
        "CSV UTF-8)",
    ),
    "empty-file": (
        ".csv", b"",
        f"{USERS}.csv: empty file: expected the Connect Portal users list (Phone System > "
        "Users) with a header row (Name, Extension, Profile Type)",
    ),
    "wrong-encoding": (
        ".csv", (HEADER + BOB).encode() + "Ren\u00e9e Roy,1003,,Courtesy CLOUD,\n".encode("cp1252"),
        f"{USERS}.csv:3: not UTF-8 text (byte 0xe9); save the export as CSV UTF-8",
    ),
    "empty-required-cell": (
        ".csv", (HEADER + "Bob Baker,1002,b@x.example,,\n").encode(),
        f"{USERS}.csv:2: Profile Type is empty",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_broken_export_is_one_located_line(tmp_path: Path, case: str) -> None:
    suffix, data, expected = CASES[case]
    root = workspace(tmp_path)
    folder = root / "exports" / "CC-104233"
    folder.mkdir(parents=True)
    (folder / f"users{suffix}").write_bytes(data)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        result = CliRunner().invoke(cli, ["plan", "--account", "northwind"])
    finally:
        os.chdir(cwd)
    assert result.exit_code == 1
    assert result.output.strip() == expected
    assert "Traceback" not in result.output


def test_headers_match_whatever_their_case_and_spacing_and_unknown_columns_are_ignored(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "CC-1"
    folder.mkdir()
    (folder / "users.csv").write_text(
        "  NAME ,extension,E-Mail,profiletype,Department,ADD-ONS\n"
        "Alice,1001,a@x.example,advanced cloud,Sales,call recording; Fax\n",
        encoding="utf-8-sig",
    )
    provider = PortalProvider("mitel-connect", tmp_path, PLATFORMS["mitel-connect"].catalog)
    user = provider.read_account("CC-1").users[0]
    assert (user.name, user.extension, user.email, user.profile) == (
        "Alice", 1001, "a@x.example", "advanced")
    assert user.add_ons == {"call-recording", "fax"}


def test_a_missing_export_names_the_file_to_download(tmp_path: Path) -> None:
    (tmp_path / "C000000150").mkdir()
    (tmp_path / "C000000150" / "users.csv").write_text(
        "Site,Extension,Name,Package\nHQ,201,Reception,Premium iPECS ONE USER\n")
    provider = PortalProvider("ipecs-cloud", tmp_path, PLATFORMS["ipecs-cloud"].catalog)
    with pytest.raises(InputError) as err:
        provider.read_account("C000000150")
    assert str(err.value).endswith(
        "C000000150: missing the licence items (Reseller Portal > Customers > Change Order, "
        "Order Items): save it as licences.xlsx or licences.csv")


def test_two_files_of_one_export_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "CC-1"
    folder.mkdir()
    for name in ("users.csv", "Users.xlsx"):
        (folder / name).write_text("x")
    provider = PortalProvider("mitel-connect", tmp_path, PLATFORMS["mitel-connect"].catalog)
    with pytest.raises(InputError, match="two exports of the Connect Portal users list"):
        provider.read_account("CC-1")


def test_a_formula_in_a_cell_is_text_both_ways(tmp_path: Path) -> None:
    """A name such as =HYPERLINK(...) is written so a spreadsheet shows it as text, and
    read back unchanged."""
    from dataclasses import replace

    from reconciler.portal.export import write_exports
    from reconciler.sandbox.demo import demo_accounts

    northwind = demo_accounts()[1]
    evil = '=HYPERLINK("http://x.example","click")'
    users = (replace(northwind.users[0], name=evil),
             replace(northwind.users[1], name="-2+3"), *northwind.users[2:])
    state = replace(northwind, users=users, name="")
    catalog = PLATFORMS["mitel-connect"].catalog
    for fmt in ("csv", "xlsx"):
        write_exports(state, catalog, tmp_path, fmt)
        provider = PortalProvider("mitel-connect", tmp_path, catalog, today=lambda: state.today)
        read = provider.read_account("CC-104233")
        assert [u.name for u in read.users] == [u.name for u in state.users]
    write_exports(state, catalog, tmp_path, "csv")
    text = (tmp_path / "CC-104233" / "users.csv").read_text()
    assert "'=HYPERLINK" in text and "'-2+3" in text


def test_title_lines_above_the_header_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "CC-1"
    folder.mkdir()
    (folder / "users.csv").write_text(
        "Users of Northwind Traders\nExported 2026-11-02\n\n" + HEADER + ALICE)
    provider = PortalProvider("mitel-connect", tmp_path, PLATFORMS["mitel-connect"].catalog)
    assert [u.extension for u in provider.read_account("CC-1").users] == [1001]


@pytest.mark.parametrize(("cell", "message"), [
    ("-1001", 'users.csv:2: Extension: "-1001" is not a whole number'),
    ("1001.5", 'users.csv:2: Extension: "1001.5" is not a whole number'),
    ("99999999999999999999999", 'users.csv:2: Extension: "99999999999999999999999" is not a '
                                "whole number"),
])
def test_an_extension_is_a_whole_number_not_below_zero(tmp_path: Path, cell: str,
                                                       message: str) -> None:
    folder = tmp_path / "CC-1"
    folder.mkdir()
    (folder / "users.csv").write_text(HEADER + ALICE.replace("1001", cell))
    provider = PortalProvider("mitel-connect", tmp_path, PLATFORMS["mitel-connect"].catalog)
    with pytest.raises(InputError) as err:
        provider.read_account("CC-1")
    assert str(err.value).endswith(message)


def test_a_return_in_the_order_list_is_a_negative_quantity(tmp_path: Path) -> None:
    folder = tmp_path / "C1"
    folder.mkdir()
    (folder / "users.csv").write_text("Site,Extension,Name,Package\n")
    (folder / "licences.csv").write_text(
        "Item Group,Order Item,Now (EA),Order(+/-),To Be (EA)\n"
        "User License,Premium IPECS ONE USER,3,-1,2\nTrunk Channel,SIP Channel,4,0,4\n")
    (folder / "orders.csv").write_text(
        "Order Date,Customer ID,Order No,Order Type,Order Status,Order Item,Qty.\n"
        "2023-10-24 13:18:11,C1,503037,Change,Approved,Premium IPECS ONE USER,-1\n"
        "2023-10-24 13:18:11,C2,503038,Change,Approved,Premium IPECS ONE USER,5\n")
    provider = PortalProvider("ipecs-cloud", tmp_path, PLATFORMS["ipecs-cloud"].catalog)
    state = provider.read_account("C1")
    assert [(lic.key, lic.quantity) for lic in state.licences] == [("Premium iPECS ONE USER", 3)]
    assert [(o.order_id, o.delta, o.state) for o in state.orders] == [
        ("503037", -1, "approved")]


def test_a_package_with_its_free_count_is_the_package(tmp_path: Path) -> None:
    folder = tmp_path / "C1"
    folder.mkdir()
    (folder / "users.csv").write_text(
        "Site,Extension,Name,Package\nHQ,297,9240 Demo,Basic User With VM (7)\n"
        "HQ,298,Typo,Basic User Wit VM\n")
    (folder / "licences.csv").write_text("Order Item,Now (EA)\nBasic User With VM,7\n")
    provider = PortalProvider("ipecs-cloud", tmp_path, PLATFORMS["ipecs-cloud"].catalog)
    with pytest.raises(InputError) as err:
        provider.read_account("C1")
    assert str(err.value).endswith(
        'C1/users.csv:3: Package: unknown "Basic User Wit VM" (did you mean '
        '"Basic User With VM"?)')


def test_a_file_that_is_not_a_runbook_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "runbook.json").write_text("{not json")
    result = CliRunner().invoke(cli, ["runbook", "status", str(tmp_path / "runbook.json")])
    assert result.exit_code == 1
    assert result.output.strip() == f"{tmp_path}/runbook.json: not a runbook (JSONDecodeError)"
