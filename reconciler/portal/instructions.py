"""What a platform's runbook wording receives and returns (the contract of
``Portal.instructions``); the words themselves live in each platform package."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.catalog import Catalog


@dataclass(frozen=True)
class StepContext:
    external_id: str
    account: str
    catalog: Catalog
    #: plan step id -> its number in the runbook ("the order of step 1")
    numbers: Mapping[str, int]
    #: plan step id -> (import file name, row) for users also in a bulk-import file
    imports: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def number_of(self, step_id: str) -> int:
        return self.numbers.get(step_id, 0)


@dataclass(frozen=True)
class Instruction:
    #: one line: what the step does, with its values ("Swap 1003 Carol Chen: ...")
    title: str
    #: the click path, one action per line, with the exact values to enter or verify
    clicks: tuple[str, ...]


def value(record: Mapping[str, Any] | None, key: str) -> Any:
    return (record or {}).get(key)


def quoted(text: object) -> str:
    return f"“{text}”"
