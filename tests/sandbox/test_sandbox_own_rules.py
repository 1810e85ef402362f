"""The sandbox states the platforms' rules on its own: given a planner catalog with a wrong
rule (the catalog is only its price list), the simulated platform still refuses in its own
words, so a wrong rule in reconciler/platforms/ fails a test instead of passing twice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sandbox_helpers import C2T, CONTOSO, IPECS, MITEL, NORTHWIND, VERTICAL, do, step

from reconciler.catalog import Catalog
from reconciler.errors import PlatformError
from reconciler.platforms import PLATFORMS
from reconciler.sandbox import Sandbox


def _with(platform: str, **products: dict[str, object]) -> dict[str, Catalog]:
    """Every catalog as shipped, but ``platform``'s products changed as given (wrongly)."""
    catalogs = {name: p.catalog for name, p in PLATFORMS.items()}
    catalog = catalogs[platform]
    changed = {key: replace(catalog.products[key], **fields) for key, fields in products.items()}
    catalogs[platform] = replace(catalog, products={**catalog.products, **changed})
    return catalogs


def _box(tmp_path: Path, catalogs: dict[str, Catalog]) -> Sandbox:
    return Sandbox(tmp_path / "sandbox.db", catalogs=catalogs)


def test_an_add_on_a_wrong_catalog_allows_is_refused_by_mitel(tmp_path: Path) -> None:
    box = _box(tmp_path, _with(MITEL, courtesy={"add_ons": frozenset(("fax",))}))
    create = step("create_user", user=150, after={"name": "Lobby", "profile": "courtesy",
                                                   "add_ons": ["fax"]})
    with pytest.raises(PlatformError) as refused:
        do(box, MITEL, NORTHWIND, create)
    assert str(refused.value) == (
        "The Fax add-on feature is not available for the Courtesy CLOUD profile type")
    box.close()


def test_a_downgrade_a_wrong_catalog_ranks_up_is_refused_by_ipecs(tmp_path: Path) -> None:
    # the catalog (wrongly) puts Stand Alone VM on top, with every feature: a Change
    # Package "up" to the planner, a downgrade to the platform
    everything = frozenset(("voicemail", "desk-phone", "ipecs-one", "video"))
    box = _box(tmp_path, _with(IPECS, **{"Stand Alone VM": {"rank": 9,
                                                            "included": everything}}))
    down = step("change_profile", user=297, before={"profile": "Basic User With VM"},
                after={"profile": "Stand Alone VM"})
    with pytest.raises(PlatformError, match="upgrade only"):
        do(box, IPECS, VERTICAL, down)
    box.close()


def test_a_sku_a_wrong_catalog_gives_another_user_kind_is_refused_by_call2teams(
    tmp_path: Path,
) -> None:
    box = _box(tmp_path, _with(C2T, C2TU25={"user_kind": "trunk"}))
    create = step("create_user", user=2099, after={"name": "Trunk 9", "profile": "trunk",
                                                    "licence": "C2TU25"})
    with pytest.raises(PlatformError) as refused:
        do(box, C2T, CONTOSO, create)
    assert str(refused.value) == "Subscription C2TU25 is for PBX users, not trunk users"
    box.close()


def test_a_trial_a_wrong_catalog_forgets_still_expires(tmp_path: Path) -> None:
    box = _box(tmp_path, _with(C2T, C2TUT={"trial": False}))
    box.advance_clock(60)
    trial = [lic for lic in box.read_account(C2T, CONTOSO).licences if lic.key == "C2TUT"]
    assert trial and not trial[0].active
    box.close()


def test_each_simulated_platform_is_its_own_module_loaded_on_use() -> None:
    """The sandbox imports a platform's simulation when that platform is first used; the
    table's names are the modules' own."""
    from reconciler.sandbox.core import PLATFORM_MODULES

    assert list(PLATFORM_MODULES) == list(PLATFORMS)
    for name in PLATFORM_MODULES:
        assert name == PLATFORM_MODULES[name].PLATFORM
