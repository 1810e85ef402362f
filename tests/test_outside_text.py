"""Text from outside (external ids, names from a platform or a file, a platform's error
messages) through the real commands, with payloads for each kind of output: no line can
begin a GitHub workflow command, no control or bidi character reaches a terminal, no
markdown or HTML comes out of a comment, and import writes no key that was not a field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from reconciler.cli import cli
from reconciler.escape import guard_line, md, terminal

#: one payload per hole, and one with all of them
PAYLOADS = {
    "workflow": "C9\n::error::forged\n  ::add-mask::tok\n::stop-commands::x\nok ##[add-mask]y",
    "terminal": "C9\x1b[2J\x1b]8;;https://evil.example\x07link\x1b]8;;\x07\u202eevil\r\x9b31m",
    "markdown": "C9\n```\n@team ![i](https://evil.example/i.png) [l](https://evil.example) "
                "<img src=x> </details> #12 www.evil.example",
    "yaml": "C9\npolicy: {prune: true, allow_downgrade: true}\n# x",
    "unicode": "C9\u2028::error::ls\u2029\u200b\u2066x\u2069\u0085::error::nel",
    # a runner trims every Unicode blank (.NET TrimStart) before looking for "::"
    "blanks": "C9\n\u00a0::add-mask::tok\n\u3000::error::x\n\u2003 \u202f::stop-commands::y",
}

#: what must not reach a log or terminal (a tab may: it moves the cursor, nothing more)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069]")


def assert_log_safe(text: str) -> None:
    """What a GitHub runner and a terminal may read: no workflow command, no control."""
    for line in text.split("\n"):
        assert not line.lstrip().startswith("::"), repr(line)
        assert "##[" not in line, line
        assert not _CONTROL.search(line), repr(line)


def assert_comment_safe(text: str) -> None:
    assert_log_safe(text)
    for bad in ("@team", "![", "](", "<img", "https://", "www.evil", "\n```"):
        assert bad not in text, bad
    assert not re.search(r"(?<!&)#12", text)  # an issue reference (not an entity)
    assert text.count("</details>") == text.count("<details")


def invoke(*args: str, **kw: Any) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), **kw)
    return result.exit_code, result.stdout, result.stderr


def q(text: str) -> str:
    return json.dumps(text)  # a YAML double-quoted scalar


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("RECONCILER_SANDBOX_FAULTS", "RECONCILER_MITEL_ROLE", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "reconciler.yaml").write_text(
        "sandbox:\n  path: sandbox.db\nstate:\n  path: state.db\n")
    (tmp_path / "accounts").mkdir()
    return tmp_path


def hostile_account(here: Path, payload: str, *, site: bool) -> Path:
    """An iPECS account on the sandbox whose id and name are ``payload`` (with the site HQ;
    without any, its id starts with "B"), and its file: one user named ``payload``."""
    external_id = payload if site else "B" + payload
    args = ["sandbox", "add-account", "--platform", "ipecs-cloud", "--external-id",
            external_id, "--name", payload]
    if site:
        args += ["--site", "HQ=100-299"]
    code, out, err = invoke(*args)
    assert code == 0, err
    assert_log_safe(out + err)
    path = here / "accounts" / ("good.yaml" if site else "broken.yaml")
    path.write_text(
        f"account: {'good' if site else 'broken'}\nplatform: ipecs-cloud\n"
        f"external_id: {q(external_id)}\nname: {q(payload)}\n"
        "sites:\n  HQ: {extensions: \"100-299\"}\n"
        f"users:\n  - extension: 101\n    name: {q(payload)}\n    site: HQ\n"
        "    profile: Basic User With VM\n")
    return path


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_every_command_keeps_outside_text_inert(here: Path, kind: str) -> None:
    payload = PAYLOADS[kind]
    assert invoke("sandbox", "reset")[0] == 0
    good = hostile_account(here, payload, site=True)
    broken = hostile_account(here, payload, site=False)

    code, out, err = invoke("validate", "--format", "github")
    assert code == 0, out + err
    for fmt in ("text", "json", "markdown", "html"):
        code, out, err = invoke("plan", "--format", fmt)
        assert code == 0, err
        assert_log_safe(out + err)
        if fmt == "markdown":
            assert_comment_safe(out)
        if fmt == "html":
            assert "<img" not in out and "\u202e" not in out
        if fmt == "json":
            plan = json.loads(out)  # still valid JSON: the escapes are JSON's own
            assert {a["external_id"] for a in plan["accounts"]} == {payload, "B" + payload}
    code, out, err = invoke("drift", "--format", "markdown")
    assert_comment_safe(out)

    # apply: one account converges, the other fails with the platform's message, which
    # quotes the hostile id; both reports stay inert
    code, out, err = invoke("apply", "--auto-approve", str(good))
    assert code == 0, out + err
    assert_log_safe(out + err)
    code, out, err = invoke("apply", "--auto-approve", str(broken))
    assert code == 1, out + err
    assert_log_safe(out + err)
    shown = guard_line(terminal("B" + payload))
    assert f"does not exist for customer {shown}" in out
    code, out, err = invoke("history")
    assert_log_safe(out + err)

    for args in (["sandbox", "show"], ["sandbox", "show", "--format", "json"]):
        code, out, err = invoke(*args)
        assert code == 0, err
        assert_log_safe(out + err)
    assert guard_line(terminal(payload)) in invoke("sandbox", "show")[1]

    # import writes the id and the name as quoted scalars: they read back exactly, and no
    # key comes out of them
    target = here / "accounts" / "imported.yaml"
    good.unlink()
    broken.unlink()
    code, out, err = invoke("import", "--platform", "ipecs-cloud", "--external-id", payload,
                            "-o", str(target))
    assert code == 0, err
    assert_log_safe(out + err)
    written = yaml.safe_load(target.read_text())
    assert set(written) == {"account", "platform", "external_id", "name", "sites", "licences",
                            "users"}
    assert (written["external_id"], written["name"]) == (payload, payload)
    assert written["users"][0]["name"] == payload
    code, out, err = invoke("plan", "--detailed-exitcode", str(target))
    assert code == 0, out + err  # the import is the live state: no changes


@pytest.mark.parametrize("kind", list(PAYLOADS))
def test_validate_github_gives_one_annotation_per_error_whatever_the_value(
    here: Path, kind: str
) -> None:
    (here / "accounts" / "a.yaml").write_text(
        f"account: a\nplatform: mitel-connect\nexternal_id: X1\n"
        f"users:\n  - extension: 1001\n    profile: {q(PAYLOADS[kind])}\n")
    code, out, err = invoke("validate", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error file=accounts/a.yaml,line=6,col=14::")
    assert_log_safe(lines[0][2:] + "\n" + err)  # the one workflow command is ours
    code, out, err = invoke("validate")
    assert len(out.splitlines()) == 1
    assert_log_safe(out + err)


def test_guard_line_escapes_what_a_runner_or_terminal_would_obey() -> None:
    assert guard_line("::error::x\n") == "\\u003a:error::x\n"
    assert guard_line("  \t::add-mask::x") == "  \t\\u003a:add-mask::x"
    for blank in ("\u00a0", "\u2003", "\u3000", "\u1680", "\u205f", "\u202f", "\u2000"):
        assert guard_line(f" {blank}::add-mask::x\n") == f" {blank}\\u003a:add-mask::x\n"
    assert guard_line("a ##[set-output name=x;]y\n") == "a #\\u0023[set-output name=x;]y\n"
    assert guard_line("\x1b[2J\x1b]0;t\x07\u202e\x9b\r") == (
        "\\u001b[2J\\u001b]0;t\\u0007\\u202e\\u009b\\u000d")
    # our own colours, the progress bar's carriage return on a terminal, tabs stay
    assert guard_line("\x1b[32m+\x1b[0m\tx\r", tty=True) == "\x1b[32m+\x1b[0m\tx\r"
    # only the sequences reconciler paints with: text hidden (conceal, reverse, black or
    # true colour on a dark terminal) or blinking is escaped
    for hiding in ("8", "7", "5", "30", "38;2;0;0;0", "1;8", "48;5;0", "32;8"):
        assert guard_line(f"\x1b[{hiding}mx\x1b[0m", tty=True) == f"\\u001b[{hiding}mx\x1b[0m"
    for own in ("1", "2", "22", "31", "1;36", "39", ""):
        assert guard_line(f"\x1b[{own}mx", tty=True) == f"\x1b[{own}mx"
    assert guard_line("\U000e0001") == "\\udb40\\udc01"  # as JSON writes it
    assert json.loads(guard_line(json.dumps("\u202e\x85\U000e0001", ensure_ascii=False))) == (
        "\u202e\x85\U000e0001")


def test_md_leaves_no_markup_mention_link_or_reference() -> None:
    text = md(PAYLOADS["markdown"])
    assert "\n" not in text
    assert_comment_safe(text)
    assert md("a:b") == "a:b" and md("10:01") == "10:01"  # plain colons read as they are


def test_terminal_shows_every_hidden_character_escaped() -> None:
    assert terminal("a\nb\tc\x1b[2J\u202e\u200b\x85") == "a\\nb\\tc\\x1b[2J\\u202e\\u200b\\x85"
    assert terminal("Zoë Ünal 山田") == "Zoë Ünal 山田"


# any text at all: the guarantees hold for every string, not just the payloads above
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=60) | st.sampled_from(
    [":", "::", "##[", "\n", "\r", "\x1b", "\u202e", "\u2028", "`", "@", "](", "<"]).flatmap(
    lambda piece: st.lists(st.sampled_from([piece, "a", " ", ":", "#", "[", "\n"]),
                           max_size=12).map("".join))


@given(_ANY_TEXT)
def test_terminal_and_md_give_one_inert_line_for_any_text(text: str) -> None:
    for shown in (terminal(text), md(text)):
        assert "\n" not in shown and "\r" not in shown and "\t" not in shown
        assert not _CONTROL.search(shown)
    assert_comment_safe(md(text))
    assert "<" not in md(text) and ">" not in md(text)


@given(_ANY_TEXT)
def test_no_line_the_guard_lets_through_begins_a_workflow_command(text: str) -> None:
    out = "".join(guard_line(line) for line in re.findall(r"[^\n]*\n|[^\n]+", text))
    assert_log_safe(out)
