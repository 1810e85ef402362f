"""The markdown plan and drift report as they were fitted to GitHub's comment limit from the
whole plan's view, before they were streamed: the oracle of tests/test_plan_stream.py (kept
as it was).

The markdown plan (a pull-request comment), kept within GitHub's comment limit.

The comment opens with the summary table (accounts without changes collapse into one line),
then **Losses**: every step warning (a downgrade that loses add-ons or features, data lost)
with its account and step, so the reviewer sees them without unfolding anything; then one
folded section per account (open when blocked).

A comment over 65,536 characters is refused by GitHub, so a big plan is shortened in steps,
each only as far as needed: the step tables of the largest accounts are *folded* into counts
(their step warnings still listed under Losses: a downgrade that loses an add-on is what the
reviewer decides on); accounts with nothing to warn about keep their summary row only; the
longest step-warning lists become counts; other accounts keep their row only; and last,
whole accounts are *cut* (a note says how many and that the plan artifact has them).
Blocked accounts keep their section, with their verdicts, before anything else.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import IO, Any

from reconciler.render.env import environment

LIMIT = 65_536
#: room kept for the fold and cut notes and the headings of optional blocks (unchanged
#: accounts, losses), whose numbers are not known while measuring
NOTE_ROOM = 900

FULL, FOLDED, ROW = "full", "folded", "row"
#: "every step warning listed" (more than any account has)
ALL = 1 << 62
#: how an account is shown: (FULL, 0) its whole section; (FOLDED, n) its section with the
#: step table as a count and its first n step warnings listed under Losses; (ROW, 0) its
#: summary row only (its step warnings counted under Losses)
Shape = tuple[str, int]


def _document(
    data: dict[str, Any], shown: list[int], shape: dict[int, Shape], cut: list[int]
) -> str:
    accounts = data["accounts"]
    hidden = None
    if cut:
        hidden = {
            "accounts": len(cut),
            "blocked": sum(1 for i in cut if accounts[i]["blocked"]),
            "steps": sum(len(accounts[i]["steps"]) for i in cut),
        }
    level = {i: shape.get(i, (FULL, 0))[0] for i in shown}
    listed = {i: ALL if level[i] == FULL else shape[i][1] for i in shown}
    folded = [i for i in shown if level[i] == FOLDED and accounts[i]["steps"]]
    return environment().get_template("markdown.j2").render(
        plan=data,
        items=[
            {"a": accounts[i], "folded": level[i] == FOLDED, "row_only": level[i] == ROW,
             "listed": listed[i]}
            for i in shown
        ],
        folded=len(folded),
        unlisted=sum(max(0, len(accounts[i]["step_warnings"]) - listed[i]) for i in folded),
        row_only=sum(1 for i in shown if level[i] == ROW and accounts[i]["has_details"]),
        hidden=hidden,
    )


class _Sizes:
    """What each account adds to the document in each shape, measured once per account."""

    def __init__(self, accounts: list[dict[str, Any]]) -> None:
        parts: Any = environment().get_template("markdown_parts.j2").module

        def section(a: dict[str, Any], folded: bool) -> int:
            return len(str(parts.section(a, folded))) + 2 if a["has_details"] else 0

        def losses(a: dict[str, Any], listed: int) -> int:
            return len(str(parts.losses(a, listed))) if a["step_warnings"] else 0

        # an account without details is not a row: it is counted in one line
        self.row = [len(str(parts.row(a))) + 1 if a["has_details"] else 0 for a in accounts]
        #: its step warnings counted, not listed (what a summary row alone adds to Losses)
        self.counted = [losses(a, 0) for a in accounts]
        self.full = [section(a, False) + losses(a, ALL) for a in accounts]
        self.folded = [section(a, True) + losses(a, ALL) for a in accounts]
        self.bare = [section(a, True) + self.counted[i] for i, a in enumerate(accounts)]
        #: prefix sums of the step-warning lines: entries[i][k] is the first k lines' length
        self.entries = [
            list(accumulate(
                (len(str(parts.step_warning(a, w))) + 1 for w in a["step_warnings"]),
                initial=0))
            for a in accounts
        ]

    def of(self, i: int, shape: Shape) -> int:
        level, listed = shape
        if level == ROW:
            return self.counted[i]
        if level == FULL:
            return self.full[i]
        if listed >= len(self.entries[i]) - 1:
            return self.folded[i]
        return self.bare[i] + self.entries[i][listed]

    def rank(self, i: int, shape: Shape) -> tuple[int, int]:
        """How much of the account a shape shows: more is better."""
        level, listed = shape
        order = {ROW: 0, FOLDED: 1, FULL: 2}[level]
        return order, min(listed, len(self.entries[i]) - 1) if level == FOLDED else 0

    def most_listed(self, i: int, room: int) -> Shape | None:
        """The folded shape listing the most step warnings within ``room``, if any fits."""
        if self.folded[i] <= room:
            return FOLDED, ALL
        k = bisect_right(self.entries[i], room - self.bare[i]) - 1
        return (FOLDED, k) if k >= 0 else None


def fit(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The markdown document of ``data`` (an escaped view), at most ``limit`` characters.

    See the module docstring for the order things are shortened in. Importance (which
    account keeps the most, and is cut last): blocked, then with warnings, then with
    changes, then plan order.
    """
    accounts = data["accounts"]
    everyone = list(range(len(accounts)))
    text = _document(data, everyone, {}, [])
    if len(text) <= limit:
        return text

    size = _Sizes(accounts)
    budget = limit - len(_document(data, [], {}, [])) - NOTE_ROOM
    shape: dict[int, Shape] = dict.fromkeys(everyone, (FULL, 0))
    total = sum(size.row) + sum(size.full)

    def importance(i: int) -> tuple[bool, bool, bool, int]:
        a = accounts[i]
        return (not a["blocked"], not a["warning_count"], not a["steps"], i)

    def lower(order: Iterable[int], to: Shape) -> None:
        nonlocal total
        for i in order:
            if total <= budget:
                return
            saving = size.of(i, shape[i]) - size.of(i, to)
            if saving > 0:
                total -= saving
                shape[i] = to

    least_first = sorted(everyone, key=importance, reverse=True)
    unblocked = [i for i in least_first if not accounts[i]["blocked"]]
    lower(sorted(everyone, key=lambda i: size.full[i] - size.folded[i], reverse=True),
          (FOLDED, ALL))
    lower((i for i in unblocked if not accounts[i]["warning_count"]), (ROW, 0))
    lower(sorted((i for i in everyone if shape[i][0] == FOLDED),
                 key=lambda i: size.entries[i][-1], reverse=True), (FOLDED, 0))
    lower(unblocked, (ROW, 0))

    shown, used = everyone, total
    if total > budget:
        kept, used = [], 0
        for i in sorted(everyone, key=importance):
            if accounts[i]["blocked"]:
                # a blocked account's steps are what the reviewer must read
                room = budget - used - size.row[i]
                shape[i] = (FULL, 0) if size.full[i] <= room else (
                    size.most_listed(i, room) or shape[i])
            cost = size.row[i] + size.of(i, shape[i])
            if used + cost <= budget:
                kept.append(i)
                used += cost
        shown = sorted(kept)
    # give room left over back to the most important accounts shown
    for i in sorted(shown, key=importance):
        room = budget - used + size.of(i, shape[i])
        best = (FULL, 0) if size.full[i] <= room else size.most_listed(i, room)
        if best is not None and size.rank(i, best) > size.rank(i, shape[i]):
            used += size.of(i, best) - size.of(i, shape[i])
            shape[i] = best

    while True:
        keep = set(shown)
        text = _document(data, shown, shape, [i for i in everyone if i not in keep])
        if len(text) <= limit or not shown:
            return text
        # the estimate was short (it should not be): drop the least important account
        shown = [i for i in shown if i != max(shown, key=importance)]


def render_markdown(data: dict[str, Any], fh: IO[str], *, limit: int = LIMIT) -> None:
    fh.write(fit(data, limit))


def fit_drift(data: dict[str, Any], limit: int = LIMIT) -> str:
    """The markdown drift report of ``data`` (escaped), at most ``limit`` characters.

    A big account is listed in part rather than left out (the nightly drift issue must say
    what changed): every account gets the same cap on the differences listed, the highest
    that fits; room left over goes to the first accounts; each says how many more it has.
    Only when the accounts' headings alone are too long are whole accounts left out.
    """
    template = environment().get_template("drift_markdown.j2")
    drifted = [a for a in data["accounts"] if a["drift"]]

    def document(listed: list[int]) -> str:
        items = [{"a": a, "listed": n} for a, n in zip(drifted, listed, strict=False)]
        return template.render(drift=data, items=items, hidden=len(drifted) - len(listed))

    counts = [len(a["drift"]) for a in drifted]
    text = document(counts)
    if len(text) <= limit:
        return text
    parts: Any = environment().get_template("drift_parts.j2").module
    whole = [len(str(parts.section(a, len(a["drift"])))) + 2 for a in drifted]
    bare = [len(str(parts.section(a, 0))) + 2 for a in drifted]
    entries = [
        list(accumulate((len(str(parts.difference(d))) + 1 for d in a["drift"]), initial=0))
        for a in drifted
    ]

    def size(j: int, listed: int) -> int:
        return whole[j] if listed >= counts[j] else bare[j] + entries[j][listed]

    budget = limit - len(document([])) - NOTE_ROOM
    shown, headings = 0, 0  # the accounts whose headings fit, in plan order
    while shown < len(drifted) and headings + bare[shown] <= budget:
        headings += bare[shown]
        shown += 1

    def cost(cap: int) -> int:
        return sum(size(j, min(counts[j], cap)) for j in range(shown))

    low, high = 0, max(counts, default=0)
    while low < high:  # the highest cap on differences per account that fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if cost(mid) <= budget else (low, mid - 1)
    listed = [min(n, low) for n in counts[:shown]]
    used = cost(low)
    for j in range(shown):  # room left over: more of the first accounts
        room = budget - used + size(j, listed[j])
        more = counts[j] if whole[j] <= room else max(
            listed[j], bisect_right(entries[j], room - bare[j]) - 1)
        used += size(j, more) - size(j, listed[j])
        listed[j] = more
    while True:
        text = document(listed)
        if len(text) <= limit or not listed:
            return text
        listed.pop()  # the estimate was short (it should not be)
