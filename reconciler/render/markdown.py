"""The markdown plan (a pull-request comment), kept within GitHub's comment limit.

A comment over 65,536 characters is refused by GitHub, so a big plan is first *folded*
(the step tables of the largest accounts become counts) and then, if still too long,
*cut* (whole accounts left out, with a note saying how many and that the plan artifact
has them). Blocked accounts are kept before anything else: they are why a reviewer reads.
"""

from __future__ import annotations

from typing import IO, Any

from reconciler.render.env import environment

LIMIT = 65_536
#: room kept for the fold and cut notes, whose numbers are not known while measuring
NOTE_ROOM = 600


def _document(data: dict[str, Any], shown: list[int], folded: set[int], cut: list[int]) -> str:
    accounts = data["accounts"]
    hidden = None
    if cut:
        hidden = {
            "accounts": len(cut),
            "blocked": sum(1 for i in cut if accounts[i]["blocked"]),
            "steps": sum(len(accounts[i]["steps"]) for i in cut),
        }
    return environment().get_template("markdown.j2").render(
        plan=data,
        items=[{"a": accounts[i], "folded": i in folded} for i in shown],
        folded=sum(1 for i in shown if i in folded and accounts[i]["steps"]),
        hidden=hidden,
    )


def fit(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The markdown document of ``data`` (an escaped view), at most ``limit`` characters."""
    accounts = data["accounts"]
    everyone = list(range(len(accounts)))
    text = _document(data, everyone, set(), [])
    if len(text) <= limit:
        return text

    parts = environment().get_template("markdown_parts.j2").module
    rows = [len(str(parts.row(a))) + 1 for a in accounts]  # type: ignore[attr-defined]
    full = [
        len(str(parts.section(a, False))) + 2 if a["has_details"] else 0  # type: ignore[attr-defined]
        for a in accounts
    ]
    short = [
        len(str(parts.section(a, True))) + 2 if a["has_details"] else 0  # type: ignore[attr-defined]
        for a in accounts
    ]
    budget = limit - len(_document(data, [], set(), [])) - NOTE_ROOM

    # fold the largest step tables first until the whole plan fits
    size = [rows[i] + full[i] for i in everyone]
    total = sum(size)
    folded: set[int] = set()
    for i in sorted(everyone, key=lambda i: full[i] - short[i], reverse=True):
        if total <= budget or full[i] == short[i]:
            break
        folded.add(i)
        total -= full[i] - short[i]
        size[i] = rows[i] + short[i]

    # then cut: keep blocked accounts, then accounts with changes, in plan order
    shown = everyone
    if total > budget:
        priority = sorted(
            everyone, key=lambda i: (not accounts[i]["blocked"], not accounts[i]["steps"], i)
        )
        kept, used = [], 0
        for i in priority:
            if used + size[i] > budget:
                continue
            kept.append(i)
            used += size[i]
        shown = sorted(kept)

    while True:
        cut = [i for i in everyone if i not in set(shown)]
        text = _document(data, shown, folded, cut)
        if len(text) <= limit or not shown:
            return text
        # the estimate was short (it should not be): drop the least important account
        last = max(shown, key=lambda i: (not accounts[i]["blocked"], not accounts[i]["steps"], i))
        shown = [i for i in shown if i != last]


def render_markdown(data: dict[str, Any], fh: IO[str], *, limit: int = LIMIT) -> None:
    fh.write(fit(data, limit))
