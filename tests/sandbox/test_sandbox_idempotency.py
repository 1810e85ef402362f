"""Every write takes an idempotency key; a repeated key returns the first outcome and does
nothing more (no second user, order or charge)."""

from __future__ import annotations

import pytest
from sandbox_helpers import (
    C2T,
    CONTOSO,
    IPECS,
    MITEL,
    NORTHWIND,
    PREMIUM,
    VERTICAL,
    do,
    licence_at,
    step,
    user_at,
)

from reconciler.errors import PlatformError
from reconciler.sandbox import Sandbox


def test_same_key_twice_one_user_one_charge(sandbox: Sandbox) -> None:
    s = step("create_user", user=1007, after={"name": "Frank Foster", "profile": "standard",
                                              "add_ons": ["teams-integration"]})
    first = do(sandbox, MITEL, NORTHWIND, s, key="k-frank")
    again = do(sandbox, MITEL, NORTHWIND, s, key="k-frank")
    assert again == first
    assert [u.extension for u in sandbox.read_account(MITEL, NORTHWIND).users].count(1007) == 1
    assert len(sandbox.charges(MITEL, NORTHWIND)) == 2  # NRC + Teams set-up, once


def test_same_key_twice_one_order(sandbox: Sandbox) -> None:
    s = step("order_licences", licence=PREMIUM, before={"quantity": 2}, after={"quantity": 3})
    first = do(sandbox, IPECS, VERTICAL, s, key="k-order")
    again = do(sandbox, IPECS, VERTICAL, s, key="k-order")
    assert again == first and first.order_id == "503037"
    orders = sandbox.read_account(IPECS, VERTICAL).orders
    assert [(o.order_id, o.idempotency_key) for o in orders] == [("503037", "k-order")]


def test_same_key_twice_one_amend(sandbox: Sandbox) -> None:
    s = step("order_licences", licence="C2TU25", before={"quantity": 25},
             after={"quantity": 30})
    do(sandbox, C2T, CONTOSO, s, key="k-amend")
    # even if the state moved on since, the repeat does nothing
    do(sandbox, C2T, CONTOSO, step("return_licences", licence="C2TU25",
                                   before={"quantity": 30}, after={"quantity": 28}))
    do(sandbox, C2T, CONTOSO, s, key="k-amend")
    assert licence_at(sandbox, C2T, CONTOSO, "C2TU25").quantity == 28


def test_a_key_used_for_another_request_is_refused(sandbox: Sandbox) -> None:
    do(sandbox, MITEL, NORTHWIND, step("update_user", user=1005, after={"name": "Lobby"}),
       key="k-1")
    with pytest.raises(PlatformError, match="idempotency key k-1 was already used for another "
                                            "request"):
        do(sandbox, MITEL, NORTHWIND, step("delete_user", user=1005), key="k-1")
    assert sandbox.read_account(MITEL, NORTHWIND).user(1005) is not None


def test_a_refused_write_leaves_its_key_unused(sandbox: Sandbox) -> None:
    s = step("change_profile", user=297, after={"profile": PREMIUM})
    with pytest.raises(PlatformError, match="No available licence"):
        do(sandbox, IPECS, VERTICAL, s, key="k-cp")
    order = do(sandbox, IPECS, VERTICAL, step("order_licences", licence=PREMIUM,
                                              before={"quantity": 2}, after={"quantity": 3}))
    do(sandbox, IPECS, VERTICAL, step("confirm_order", licence=PREMIUM,
                                      params={"order_id": order.order_id}))
    assert do(sandbox, IPECS, VERTICAL, s, key="k-cp").status == "done"
    assert user_at(sandbox, IPECS, VERTICAL, 297).profile == PREMIUM


def test_a_write_needs_a_key(sandbox: Sandbox) -> None:
    with pytest.raises(PlatformError, match="an idempotency key is required"):
        sandbox.perform(MITEL, NORTHWIND, step("delete_user", user=1005), "")
