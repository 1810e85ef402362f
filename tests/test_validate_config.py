"""reconciler.yaml: defaults without it, every setting read, every mistake located."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.config import Config, load_config
from reconciler.errors import ValidationFailed


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refusal(path: str) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_config(path)
    return [str(e) for e in info.value.errors]


def test_no_file_means_every_default(here: Path) -> None:
    assert load_config(None) == Config()
    assert load_config("reconciler.yaml") == Config()


def test_a_named_file_must_exist(here: Path) -> None:
    assert refusal("conf/prod.yaml") == ["conf/prod.yaml: configuration file not found"]


def test_every_setting(here: Path) -> None:
    (here / "reconciler.yaml").write_text(
        "sandbox: {path: sb.db}\nstate: {path: /var/lib/rec/state.db}\npricebook: prices.yaml\n"
        'policy: {allow_downgrade: true, max_monthly_increase: "99.50"}\n'
        "providers:\n"
        "  mitel-connect: {kind: sandbox, role: billing-contact, role_env: MITEL_ROLE}\n"
        "  ipecs-cloud: {approval: delayed, approval_delay_days: 3}\n"
        "  call2teams: {token_env: C2T_TOKEN}\n"
    )
    config = load_config(None)
    assert config.sandbox_path == Path("sb.db")
    assert config.state_path == Path("/var/lib/rec/state.db")
    assert config.pricebook_path == Path("prices.yaml")
    assert config.policy == {"allow_downgrade": True, "max_monthly_increase": Decimal("99.50")}
    assert config.provider("mitel-connect").options == {
        "role": "billing-contact",
        "role_env": "MITEL_ROLE",
    }
    assert config.provider("ipecs-cloud").options == {
        "approval": "delayed",
        "approval_delay_days": 3,
    }
    assert config.provider("call2teams").kind == "sandbox"
    assert config.provider("call2teams").options == {"token_env": "C2T_TOKEN"}
    assert config.role("mitel-connect") == "billing-contact"
    assert config.source == "reconciler.yaml"


def test_relative_paths_are_relative_to_the_file(here: Path) -> None:
    (here / "conf").mkdir()
    (here / "conf" / "reconciler.yaml").write_text("sandbox: {path: sb.db}\npricebook: p.yaml\n")
    config = load_config("conf/reconciler.yaml")
    assert config.sandbox_path == here.resolve() / "conf" / "sb.db"
    assert config.state_path == here.resolve() / "conf" / ".reconciler" / "state.db"
    assert config.pricebook_path == here.resolve() / "conf" / "p.yaml"
    assert config.root == Path("conf")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "providers:\n  ipecs-cloud:\n    aproval: delayed\n",
            '3:5: unknown field "aproval" (did you mean "approval"?)',
        ),
        (
            "providers:\n  mitel:\n    role: decision-maker\n",
            '2:3: unknown platform "mitel"; expected one of: '
            "mitel-connect, ipecs-cloud, call2teams",
        ),
        (
            "providers:\n  mitel-connect: {role: decision_maker}\n",
            '2:25: unknown role "decision_maker" (did you mean "decision-maker"?)',
        ),
        (
            "providers:\n  ipecs-cloud: {kind: rest}\n",
            '2:23: unknown kind "rest"; expected one of: sandbox, portal, http',
        ),
        (
            "providers:\n  call2teams: {token_env: sk-live-abc123}\n",
            '2:27: token_env "sk-live-abc123" is not valid: write the NAME of an environment '
            "variable (letters, digits, _), never a secret itself",
        ),
        (
            "providers:\n  ipecs-cloud: {approval_delay_days: two}\n",
            '2:38: approval_delay_days must be an integer, found "two"',
        ),
        (
            "policy: {max_monthly_increase: lots}\n",
            '1:32: max_monthly_increase "lots" is not valid: '
            'write an amount such as 250 or "99.50"',
        ),
        (
            "sandbox: .reconciler/sandbox.db\n",
            "1:10: sandbox must be a mapping such as {path: .reconciler/sandbox.db}, "
            'found ".reconciler/sandbox.db"',
        ),
        ("statee: {}\n", '1:1: unknown field "statee" (did you mean "state"?)'),
    ],
)
def test_mistakes(here: Path, text: str, message: str) -> None:
    (here / "reconciler.yaml").write_text(text)
    assert refusal("reconciler.yaml") == [f"reconciler.yaml:{message}"]


def test_role_belongs_to_mitel_only(here: Path) -> None:
    (here / "reconciler.yaml").write_text("providers:\n  call2teams: {role: decision-maker}\n")
    assert refusal("reconciler.yaml") == [
        'reconciler.yaml:2:16: unknown field "role"; expected one of: kind, exports, token_env, '
        "url, timeout, ca_file, max_concurrency, rate_limit"
    ]


def test_the_example_config_loads() -> None:
    example = Path(__file__).parent.parent / "docs" / "reconciler.example.yaml"
    config = load_config(str(example))
    assert config.provider("ipecs-cloud").options["approval"] == "delayed"
    assert config.policy["max_monthly_increase"] == Decimal("500")


def test_an_unknown_mitel_role_from_the_environment_is_one_line(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    monkeypatch.setenv("RECONCILER_MITEL_ROLE", "phone-manger")
    result = CliRunner().invoke(cli, ["sandbox", "show"])
    assert (result.exit_code, result.output) == (
        1,
        "error: RECONCILER_MITEL_ROLE: this environment variable does not hold a Mitel "
        "Connect role; expected one of: decision-maker, phone-manager, billing-contact, "
        "technical-contact, emergency-contact (its value is not shown)\n",
    )
    assert not (here / ".reconciler").exists()


def test_an_unknown_mitel_role_from_role_env_lists_the_roles(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from reconciler.config import ProviderConfig
    from reconciler.errors import ConfigError

    monkeypatch.delenv("RECONCILER_MITEL_ROLE", raising=False)
    monkeypatch.setenv("MY_ROLE", "bogus")
    config = Config(providers={"mitel-connect": ProviderConfig(options={"role_env": "MY_ROLE"})})
    with pytest.raises(ConfigError) as info:
        config.role("mitel-connect")
    assert str(info.value) == (
        "MY_ROLE: this environment variable does not hold a Mitel Connect role; expected one "
        "of: decision-maker, phone-manager, billing-contact, technical-contact, "
        "emergency-contact (its value is not shown)"
    )
