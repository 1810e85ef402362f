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


def _document(
    data: dict[str, Any], shown: list[int], level: dict[int, str], cut: list[int]
) -> str:
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
        items=[
            {"a": accounts[i], "folded": level.get(i) == FOLDED, "row_only": level.get(i) == ROW}
            for i in shown
        ],
        folded=sum(1 for i in shown if level.get(i) == FOLDED and accounts[i]["steps"]),
        row_only=sum(1 for i in shown if level.get(i) == ROW and accounts[i]["has_details"]),
        hidden=hidden,
    )


FULL, FOLDED, ROW = "full", "folded", "row"


def fit(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The markdown document of ``data`` (an escaped view), at most ``limit`` characters.

    Three steps, each only as far as needed: fold the largest step tables into counts;
    then leave the least important accounts in the summary table only (their section
    would repeat the row); then cut whole accounts, least important first. Importance:
    blocked, then with warnings, then with changes, then plan order.
    """
    accounts = data["accounts"]
    everyone = list(range(len(accounts)))
    text = _document(data, everyone, {}, [])
    if len(text) <= limit:
        return text

    parts: Any = environment().get_template("markdown_parts.j2").module
    row = [len(str(parts.row(a))) + 1 for a in accounts]
    size = {
        FULL: [len(str(parts.section(a, False))) + 2 if a["has_details"] else 0 for a in accounts],
        FOLDED: [len(str(parts.section(a, True))) + 2 if a["has_details"] else 0 for a in accounts],
        ROW: [0] * len(accounts),
    }
    budget = limit - len(_document(data, [], {}, [])) - NOTE_ROOM
    level = dict.fromkeys(everyone, FULL)
    total = sum(row) + sum(size[FULL])

    def importance(i: int) -> tuple[bool, bool, bool, int]:
        a = accounts[i]
        return (not a["blocked"], not a["warning_count"], not a["steps"], i)

    def lower(order: list[int], to: str) -> None:
        nonlocal total
        for i in order:
            if total <= budget:
                return
            saving = size[level[i]][i] - size[to][i]
            if saving > 0 and not (to == ROW and accounts[i]["blocked"]):
                total -= saving
                level[i] = to

    lower(sorted(everyone, key=lambda i: size[FULL][i] - size[FOLDED][i], reverse=True), FOLDED)
    lower(sorted(everyone, key=importance, reverse=True), ROW)

    shown, used = everyone, total
    if total > budget:
        kept, used = [], 0
        for i in sorted(everyone, key=importance):
            if accounts[i]["blocked"]:
                # a blocked account's steps are what the reviewer must read
                level[i] = next((lv for lv in (FULL, FOLDED)
                                 if used + row[i] + size[lv][i] <= budget), level[i])
            cost = row[i] + size[level[i]][i]
            if used + cost <= budget:
                kept.append(i)
                used += cost
        shown = sorted(kept)
    # give room left over back to the most important accounts shown
    for i in sorted(shown, key=importance):
        for better in (FULL, FOLDED):
            extra = size[better][i] - size[level[i]][i]
            if level[i] != better and extra >= 0 and used + extra <= budget:
                level[i] = better
                used += extra
                break
            if level[i] == better:
                break

    while True:
        keep = set(shown)
        text = _document(data, shown, level, [i for i in everyone if i not in keep])
        if len(text) <= limit or not shown:
            return text
        # the estimate was short (it should not be): drop the least important account
        shown = [i for i in shown if i != max(shown, key=importance)]


def render_markdown(data: dict[str, Any], fh: IO[str], *, limit: int = LIMIT) -> None:
    fh.write(fit(data, limit))


def fit_drift(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The markdown drift report of ``data`` (escaped), accounts cut to stay within ``limit``."""
    template = environment().get_template("drift_markdown.j2")
    drifted = [a for a in data["accounts"] if a["drift"]]
    text = template.render(drift=data, items=drifted, hidden=0)
    if len(text) <= limit:
        return text
    bare = len(template.render(drift=data, items=[], hidden=len(drifted)))
    budget, used, shown = limit - bare, 0, []
    for a in drifted:
        size = len(template.render(drift=data, items=[a], hidden=0)) - bare + 100
        if used + size > budget:
            break
        shown.append(a)
        used += size
    while True:
        text = template.render(drift=data, items=shown, hidden=len(drifted) - len(shown))
        if len(text) <= limit or not shown:
            return text
        shown.pop()
