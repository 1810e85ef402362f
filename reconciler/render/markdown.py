"""The markdown plan (a pull-request comment), kept within GitHub's comment limit.

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

Accounts are given one by one (:class:`PlanFit`, :class:`DriftFit`): each is measured in
every shape as it comes and put aside (reconciler.spool.Views); the comment is chosen from the
measures at the end and reads back only the accounts it shows, so memory holds a few
numbers per account and what fits in the comment, however many accounts the plan has.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from itertools import accumulate
from typing import Any, NamedTuple

from reconciler.render.env import environment
from reconciler.spool import Views

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


class _Facts(NamedTuple):
    """What choosing an account's shape asks of it (its view is put aside)."""

    blocked: bool
    warning_count: int
    steps: int
    has_details: bool
    step_warnings: int


class _Sizes:
    """What each account adds to the document in each shape, measured once per account."""

    def __init__(self) -> None:
        self.row: list[int] = []
        #: its step warnings counted, not listed (what a summary row alone adds to Losses)
        self.counted: list[int] = []
        self.full: list[int] = []
        self.folded: list[int] = []
        self.bare: list[int] = []
        #: prefix sums of the step-warning lines: entries[i][k] is the first k lines' length
        self.entries: list[list[int]] = []

    def add(self, a: dict[str, Any]) -> None:
        parts: Any = environment().get_template("markdown_parts.j2").module

        def section(folded: bool) -> int:
            return len(str(parts.section(a, folded))) + 2 if a["has_details"] else 0

        def losses(listed: int) -> int:
            return len(str(parts.losses(a, listed))) if a["step_warnings"] else 0

        # an account without details is not a row: it is counted in one line
        self.row.append(len(str(parts.row(a))) + 1 if a["has_details"] else 0)
        self.counted.append(losses(0))
        self.full.append(section(False) + losses(ALL))
        self.folded.append(section(True) + losses(ALL))
        self.bare.append(section(True) + self.counted[-1])
        self.entries.append(list(accumulate(
            (len(str(parts.step_warning(a, w))) + 1 for w in a["step_warnings"]), initial=0)))

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


class PlanFit:
    """The markdown plan of accounts given one by one (:meth:`add`, each account's view
    escaped for markdown), at most ``limit`` characters (:meth:`document`)."""

    def __init__(self) -> None:
        self.facts: list[_Facts] = []
        self.size = _Sizes()
        self.views = Views()
        self._put: list[int] = []  # account -> its number in views (-1: nothing to show)

    def add(self, a: dict[str, Any]) -> None:
        self.facts.append(_Facts(a["blocked"], a["warning_count"], len(a["steps"]),
                                 a["has_details"], len(a["step_warnings"])))
        self.size.add(a)
        self._put.append(self.views.put(a) if a["has_details"] else -1)

    def _view(self, i: int, level: str) -> dict[str, Any]:
        """Account ``i``'s view as ``level`` shows it: without details it is counted only;
        folded or as a row its steps are counted, not listed."""
        if self._put[i] < 0:
            return {"has_details": False, "step_warnings": []}
        a: dict[str, Any] = self.views.get(self._put[i])
        if level != FULL:
            a["steps"] = [None] * len(a["steps"])
        return a

    def _document(self, head: dict[str, Any], shown: list[int], shape: dict[int, Shape],
                  cut: list[int]) -> str:
        facts = self.facts
        hidden = None
        if cut:
            hidden = {
                "accounts": len(cut),
                "blocked": sum(1 for i in cut if facts[i].blocked),
                "steps": sum(facts[i].steps for i in cut),
            }
        level = {i: shape.get(i, (FULL, 0))[0] for i in shown}
        listed = {i: ALL if level[i] == FULL else shape[i][1] for i in shown}
        folded = [i for i in shown if level[i] == FOLDED and facts[i].steps]
        return environment().get_template("markdown.j2").render(
            plan=head,
            items=[
                {"a": self._view(i, level[i]), "folded": level[i] == FOLDED,
                 "row_only": level[i] == ROW, "listed": listed[i]}
                for i in shown
            ],
            folded=len(folded),
            unlisted=sum(max(0, facts[i].step_warnings - listed[i]) for i in folded),
            row_only=sum(1 for i in shown if level[i] == ROW and facts[i].has_details),
            hidden=hidden,
        )

    def document(self, head: dict[str, Any], limit: int = LIMIT) -> str:
        """The document of the accounts added, with ``head`` (an escaped plan view's keys
        but its accounts: summary, base, ...), at most ``limit`` characters.

        See the module docstring for the order things are shortened in. Importance (which
        account keeps the most, and is cut last): blocked, then with warnings, then with
        changes, then plan order.
        """
        try:
            return self._fit(head, limit)
        finally:
            self.views.close()

    def _fit(self, head: dict[str, Any], limit: int) -> str:
        facts, size = self.facts, self.size
        everyone = list(range(len(facts)))
        empty = len(self._document(head, [], {}, []))
        total = sum(size.row) + sum(size.full)
        # every account's pieces are in the whole document: past the limit, not rendered
        if empty + total <= limit:
            text = self._document(head, everyone, {}, [])
            if len(text) <= limit:
                return text

        budget = limit - empty - NOTE_ROOM
        shape: dict[int, Shape] = dict.fromkeys(everyone, (FULL, 0))

        def importance(i: int) -> tuple[bool, bool, bool, int]:
            f = facts[i]
            return (not f.blocked, not f.warning_count, not f.steps, i)

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
        unblocked = [i for i in least_first if not facts[i].blocked]
        lower(sorted(everyone, key=lambda i: size.full[i] - size.folded[i], reverse=True),
              (FOLDED, ALL))
        lower((i for i in unblocked if not facts[i].warning_count), (ROW, 0))
        lower(sorted((i for i in everyone if shape[i][0] == FOLDED),
                     key=lambda i: size.entries[i][-1], reverse=True), (FOLDED, 0))
        lower(unblocked, (ROW, 0))

        shown, used = everyone, total
        if total > budget:
            kept, used = [], 0
            for i in sorted(everyone, key=importance):
                if facts[i].blocked:
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
            text = self._document(head, shown, shape, [i for i in everyone if i not in keep])
            if len(text) <= limit or not shown:
                return text
            # the estimate was short (it should not be): drop the least important account
            shown = [i for i in shown if i != max(shown, key=importance)]


class DriftFit:
    """The markdown drift report of drifted accounts given one by one (:meth:`add`, each
    escaped for markdown), at most ``limit`` characters (:meth:`document`).

    A big account is listed in part rather than left out (the nightly drift issue must say
    what changed): every account gets the same cap on the differences listed, the highest
    that fits; room left over goes to the first accounts; each says how many more it has.
    Only when the accounts' headings alone are too long are whole accounts left out.
    """

    def __init__(self) -> None:
        self.views = Views()
        self.counts: list[int] = []
        self.whole: list[int] = []
        self.bare: list[int] = []
        self.entries: list[list[int]] = []

    def add(self, a: dict[str, Any]) -> None:
        parts: Any = environment().get_template("drift_parts.j2").module
        self.counts.append(len(a["drift"]))
        self.whole.append(len(str(parts.section(a, len(a["drift"])))) + 2)
        self.bare.append(len(str(parts.section(a, 0))) + 2)
        self.entries.append(list(accumulate(
            (len(str(parts.difference(d))) + 1 for d in a["drift"]), initial=0)))
        self.views.put(a)

    def document(self, head: dict[str, Any], limit: int = LIMIT) -> str:
        """The report with ``head`` (the escaped drift view's keys but its accounts)."""
        try:
            return self._fit(head, limit)
        finally:
            self.views.close()

    def _document(self, head: dict[str, Any], listed: list[int]) -> str:
        items = [{"a": self.views.get(j), "listed": n} for j, n in enumerate(listed)]
        return environment().get_template("drift_markdown.j2").render(
            drift=head, items=items, hidden=len(self.counts) - len(listed))

    def _fit(self, head: dict[str, Any], limit: int) -> str:
        counts, whole, bare, entries = self.counts, self.whole, self.bare, self.entries
        empty = len(self._document(head, []))
        # the whole report has every section and no note of accounts left out (shorter
        # than NOTE_ROOM): past the limit, not rendered
        if empty - NOTE_ROOM + sum(whole) <= limit:
            text = self._document(head, counts)
            if len(text) <= limit:
                return text

        def size(j: int, listed: int) -> int:
            return whole[j] if listed >= counts[j] else bare[j] + entries[j][listed]

        budget = limit - empty - NOTE_ROOM
        shown, headings = 0, 0  # the accounts whose headings fit, in plan order
        while shown < len(counts) and headings + bare[shown] <= budget:
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
            text = self._document(head, listed)
            if len(text) <= limit or not listed:
                return text
            listed.pop()  # the estimate was short (it should not be)
