"""The sandbox behind the Provider interface, chosen by reconciler.connect.provider_for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_helpers import IPECS, VERTICAL, step, user_at

from reconciler.config import Config, ProviderConfig
from reconciler.connect import provider_for
from reconciler.errors import PlatformError, ReconcilerError
from reconciler.provider import provider_factory
from reconciler.sandbox import SandboxProvider, sandbox_provider


def test_every_platform_defaults_to_the_sandbox_file_of_the_config(tmp_path: Path) -> None:
    config = Config(sandbox_path=tmp_path / "box" / "s.db")
    provider = provider_for(IPECS, config)
    assert isinstance(provider, SandboxProvider)
    assert provider_factory("sandbox") is sandbox_provider
    assert provider.list_accounts() == [VERTICAL]
    assert provider_for("call2teams", config).list_accounts() == ["C2T-00001", "C2T-10042"]
    out = provider.perform(VERTICAL, step("update_user", user=202, after={"name": "Sales Desk"}),
                           "k1")
    assert out.status == "done"
    assert user_at(provider.sandbox, IPECS, VERTICAL, 202).name == "Sales Desk"
    assert (tmp_path / "box" / "s.db").exists()


def test_an_unknown_account_is_refused_in_the_platforms_words(tmp_path: Path) -> None:
    provider = provider_for(IPECS, Config(sandbox_path=tmp_path / "s.db"))
    with pytest.raises(PlatformError) as e:
        provider.read_account("C000000404")
    assert str(e.value) == "Customer C000000404 does not exist"


def test_an_unknown_provider_kind_is_one_line(tmp_path: Path) -> None:
    config = Config(providers={IPECS: ProviderConfig(kind="sandbx")}, source="reconciler.yaml")
    with pytest.raises(ReconcilerError) as e:
        provider_for(IPECS, config)
    assert str(e.value) == (
        "reconciler.yaml: providers.ipecs-cloud.kind: unknown provider kind 'sandbx' "
        '(did you mean "sandbox"?) (known: http, portal, sandbox)'
    )
    with pytest.raises(ReconcilerError, match="unknown platform 'ipecs'"):
        provider_for("ipecs", config)
