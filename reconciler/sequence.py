"""Step drafts and the one ordering algorithm every platform planner uses.

A platform planner turns an account's changes into :class:`Draft` steps: a step plus the
drafts it must wait for (``after``), the pool licence it takes (``needs``) or frees
(``frees``), and the extension it takes (``occupies``) or frees (``vacates``).
:func:`schedule` orders the user drafts (see reconciler/planner.py for the model) and
:func:`finish` gives the final steps their ids ``s1``, ``s2``, ... in plan order.
"""

from __future__ import annotations

import heapq
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from reconciler.catalog import Catalog
from reconciler.diff import Change
from reconciler.model import ActualAccount, DesiredAccount
from reconciler.money import ZERO
from reconciler.plan import Step, Verdict


@dataclass(frozen=True)
class PlanContext:
    """What a platform planner may read besides the changes."""

    desired: DesiredAccount
    actual: ActualAccount
    catalog: Catalog
    #: action -> the platform's wording (Platform.words)
    words: Mapping[str, str] = field(default_factory=dict)
    #: the user fields the platform keeps (Platform.user_fields), for full records;
    #: None keeps every field
    user_fields: frozenset[str] | None = None

    def draft(self, ref: str, action: str, **kw: Any) -> Draft:
        """A draft of ``action`` labelled in the platform's words. Keywords other than the
        scheduling ones (deps: refs to wait for, needs, frees, occupies, vacates) go to
        the Step."""
        sched = {k: kw.pop(k) for k in ("deps", "needs", "frees", "occupies", "vacates")
                 if k in kw}
        deps = sched.pop("deps", ())
        step = Step(id="", action=action, label=self.words.get(action, ""), **kw)
        return Draft(ref, step, after=[a for a in deps if a], **sched)

    # The user steps below read the same on every platform (docs/steps.md); a platform
    # adds its own keywords (the licence a step takes or frees, costs, warnings).

    def delete(self, ext: int, before: Mapping[str, Any], **kw: Any) -> Draft:
        """delete_user of the user at ``ext`` (its full record): frees the extension."""
        return self.draft(f"delete:{ext}", "delete_user", user=ext,
                          before=only(before, self.user_fields), vacates=ext, **kw)

    def create(self, ext: int, after: Mapping[str, Any], **kw: Any) -> Draft:
        """create_user of a user at ``ext`` (its full record): takes the extension."""
        return self.draft(f"create:{ext}", "create_user", user=ext,
                          after=only(after, self.user_fields), occupies=ext, **kw)

    def renumber(self, c: Change) -> Draft:
        """renumber_user: takes the new extension, frees the old one. Its ``user`` is the
        extension the user has when the step runs (the old one); the new one is in
        ``after`` (docs/steps.md)."""
        ext = _user_ext(c)
        old = int(c.before["extension"])
        return self.draft(f"renumber:{ext}", "renumber_user", user=old, before=dict(c.before),
                          after=dict(c.after), occupies=ext, vacates=old)

    def update(self, c: Change, deps: Iterable[str]) -> Draft:
        """update_user of the changed fields (after ``deps``: the user's renumber)."""
        ext = _user_ext(c)
        return self.draft(f"update:{ext}", "update_user", user=ext, before=dict(c.before),
                          after=dict(c.after), deps=list(deps))

    def move(self, ref: str, c: Change, key: str, deps: Iterable[str]) -> Draft:
        """change_profile of a user holding a pool licence (``key``: the field naming it):
        takes a licence of the new one, frees one of the old."""
        ext = _user_ext(c)
        return self.draft(ref, "change_profile", user=ext, before=dict(c.before),
                          after=dict(c.after), needs=c.after[key], frees=c.before[key],
                          deps=list(deps))


def _user_ext(c: Change) -> int:
    assert c.extension is not None, f"{c.kind} without an extension"
    return c.extension


@dataclass(frozen=True)
class Downgrade:
    """A user the plan moves to a lower profile / package (needs allow_downgrade)."""

    extension: int
    before: str
    after: str


@dataclass(frozen=True)
class PlatformPlan:
    """What a platform planner returns to reconciler.planner."""

    steps: tuple[Step, ...]
    #: the account once every step is done (its bill is monthly_after)
    projected: ActualAccount
    warnings: tuple[str, ...] = ()
    #: platform verdicts (an expired trial still in use)
    verdicts: tuple[Verdict, ...] = ()
    downgrades: tuple[Downgrade, ...] = ()
    #: users deleted, replaced or downgraded (the destructive-share policy counts them)
    destructive: frozenset[int] = frozenset()
    #: what the platform changed by itself that no step can undo (an expired trial)
    drift: tuple[str, ...] = ()
    #: extension -> data a step destroys (recordings of a removed add-on or a deleted
    #: user); needs the same allow as a downgrade
    losses: Mapping[int, tuple[str, ...]] = field(default_factory=dict)


class Draft:
    """A step under construction (mutable on purpose: scheduling adds dependencies)."""

    __slots__ = ("ref", "step", "after", "needs", "frees", "occupies", "vacates")

    def __init__(self, ref: str, step: Step, *, after: Iterable[str] = (),
                 needs: str | None = None, frees: str | None = None,
                 occupies: int | None = None, vacates: int | None = None) -> None:
        self.ref = ref
        self.step = step
        self.after = list(after)
        self.needs = needs
        self.frees = frees
        self.occupies = occupies
        self.vacates = vacates

    def __repr__(self) -> str:
        return f"Draft({self.ref!r}, {self.step.action}, after={self.after})"


@dataclass
class Supply:
    """Where the licences a user draft may take come from, per pool key."""

    #: free now (None) or freed by a user draft (its ref): taken first, no waiting
    now: dict[str, deque[str | None]] = field(default_factory=lambda: defaultdict(deque))
    #: ordered in this plan: available once the ref (order or confirm) is done
    ordered: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))

    def add_free(self, key: str, count: int) -> None:
        self.now[key].extend([None] * count)

    def add_ordered(self, key: str, ref: str, count: int) -> None:
        self.ordered[key].extend([ref] * count)

    def take(self, key: str) -> tuple[bool, str | None]:
        if self.now[key]:
            return True, self.now[key].popleft()
        if self.ordered[key]:
            return True, self.ordered[key].popleft()
        return False, None


@dataclass(frozen=True)
class Schedule:
    #: user drafts in plan order (dependencies added)
    drafts: list[Draft]
    #: temporary orders the schedule needed (to go at the head of the plan)
    temporary: list[Draft]
    #: pool key -> how many temporary licences of it were ordered
    temps: dict[str, int]
    #: pool key -> refs of the user drafts that take or free one of its licences
    touching: dict[str, list[str]]

    def around(self, head: list[Draft], tail: list[Draft]) -> list[Draft]:
        """The plan order of a pooled platform: its orders (``head``), the temporary
        orders, the user drafts, its returns (``tail``)."""
        return head + self.temporary + self.drafts + tail


def temps_returned(temps: int) -> tuple[str, ...]:
    """The warning on a pool's final return that also gives back ``temps`` temporary
    licences (none without)."""
    if not temps:
        return ()
    return (
        f"returns the {temps} temporary licence{'s' if temps > 1 else ''} "
        "ordered above (zero net monthly)",
    )


#: make the drafts of one temporary licence of a pool key; returns (drafts, source ref)
TempOrder = Callable[[str, int], tuple[list[Draft], str]]


def schedule(drafts: list[Draft], supply: Supply, limited: Iterable[str],
             temporary: TempOrder | None = None) -> Schedule:
    """Order user drafts: input order where possible; a draft that needs a licence of a
    ``limited`` pool waits until one is free (free now, freed by another draft, ordered).
    When every waiting draft waits on another (a cycle with no free licence), one
    temporary licence is ordered for the first of them. Linear in drafts (a heap keeps
    input order: n log n)."""
    limited = set(limited)
    _link_extensions(drafts)
    index = {d.ref: i for i, d in enumerate(drafts)}
    by_ref = {d.ref: d for d in drafts}
    indeg = {d.ref: 0 for d in drafts}
    dependents: dict[str, list[str]] = defaultdict(list)
    for d in drafts:
        for a in d.after:
            if a in by_ref:
                indeg[d.ref] += 1
                dependents[a].append(d.ref)
    heap = [(index[d.ref], d.ref) for d in drafts if indeg[d.ref] == 0]
    heapq.heapify(heap)
    waiting: dict[str, deque[Draft]] = defaultdict(deque)
    touching: dict[str, list[str]] = defaultdict(list)
    temps: dict[str, int] = defaultdict(int)
    temp_drafts: list[Draft] = []
    out: list[Draft] = []

    def wake(key: str) -> None:
        if waiting[key]:
            d = waiting[key].popleft()
            heapq.heappush(heap, (index[d.ref], d.ref))

    while True:
        while heap:
            _, ref = heapq.heappop(heap)
            d = by_ref[ref]
            if d.needs is not None and d.needs in limited:
                ok, source = supply.take(d.needs)
                if not ok:
                    waiting[d.needs].append(d)
                    continue
                if source is not None:
                    d.after.append(source)
            out.append(d)
            for key in {d.needs, d.frees} - {None}:
                assert key is not None
                touching[key].append(d.ref)
            if d.frees is not None and d.frees in limited:
                supply.now[d.frees].append(d.ref)
                wake(d.frees)
            for x in dependents[ref]:
                indeg[x] -= 1
                if indeg[x] == 0:
                    heapq.heappush(heap, (index[x], x))
        stuck = [q[0] for q in waiting.values() if q]
        if not stuck:
            break
        if temporary is None:
            raise RuntimeError(f"no licence for {stuck[0]!r} and no temporary order possible")
        first = min(stuck, key=lambda d: index[d.ref])
        key = first.needs
        assert key is not None
        temps[key] += 1
        made, source = temporary(key, temps[key])
        temp_drafts.extend(made)
        supply.add_ordered(key, source, 1)
        wake(key)
    if len(out) != len(drafts):  # a dependency cycle among drafts: a planner bug
        raise RuntimeError("steps depend on each other in a cycle")
    return Schedule(out, temp_drafts, dict(temps), dict(touching))


def _link_extensions(drafts: list[Draft]) -> None:
    """A draft taking extension E waits for the draft that frees E (a delete or a
    renumber away from it)."""
    vacating = {d.vacates: d.ref for d in drafts if d.vacates is not None}
    for d in drafts:
        if d.occupies is not None and d.occupies in vacating and vacating[d.occupies] != d.ref:
            d.after.append(vacating[d.occupies])


def finish(drafts: Iterable[Draft],
           names: Callable[[Step], str] | None = None) -> tuple[Step, ...]:
    """Final steps: ids s1, s2, ... in list order; depends_on in plan order, no repeats;
    a user step named after the user it touches (``names``: the step -> the display name,
    ``AccountChanges.name_of``)."""
    drafts = list(drafts)
    ids = {d.ref: f"s{i}" for i, d in enumerate(drafts, start=1)}
    pos = {d.ref: i for i, d in enumerate(drafts)}
    steps = []
    for d in drafts:
        deps = sorted({a for a in d.after if a in ids}, key=pos.__getitem__)
        name = names(d.step) if names is not None and d.step.user is not None else ""
        steps.append(replace(d.step, id=ids[d.ref], depends_on=tuple(ids[a] for a in deps),
                             name=name))
    return tuple(steps)


def only(rec: Mapping[str, Any], fields: Iterable[str] | None) -> dict[str, Any]:
    """A full record cut to the fields the platform keeps (and the extension)."""
    if fields is None:
        return dict(rec)
    keep = set(fields)
    return {k: v for k, v in rec.items() if k == "extension" or k in keep}


def total(values: Iterable[Decimal]) -> Decimal:
    return sum(values, ZERO)
