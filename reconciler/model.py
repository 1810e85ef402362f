"""The two models every other module speaks: desired state (from YAML) and actual state
(read from a platform). Both are frozen; the diff is a pure function of the two.

Field conventions shared by both sides:

* ``profile`` is the platform's word for what a user is: a Mitel profile type key
  (``standard``), an iPECS package name (``Basic User With VM``) or a Call2Teams user kind
  (``pbx`` / ``trunk``).
* ``licence`` is the Call2Teams SKU whose subscription the user consumes (``C2TU25``);
  ``None`` elsewhere.
* In desired state ``None`` means "not managed" and an empty collection means "none".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar, cast

#: Share of an account's users that a plan may delete, replace or downgrade without --force.
DESTRUCTIVE_SHARE = Decimal("0.30")
#: The share rule only counts for accounts with at least this many users.
DESTRUCTIVE_MIN_USERS = 10
#: Warn about a trial that expires within this many days.
TRIAL_WARNING_DAYS = 7


class Mark(NamedTuple):
    """A place in a file, 1-based: ``str(mark) == "accounts/x.yaml:12:5"``.

    A named tuple, not a frozen dataclass: the loader makes one per YAML node (a third of
    plan's loading time went to frozen-dataclass construction); immutable and ordered
    (file, line, col) all the same."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


_T = TypeVar("_T")


def build(cls: type[_T], values: dict[str, Any]) -> _T:
    """``cls(**values)`` for a frozen model dataclass, without its ``__init__`` (a frozen
    dataclass sets each field through ``object.__setattr__``: half of building an account
    file's 50 users). The same object: every field set, defaults where ``values`` has none;
    ``values`` naming an unknown field, or missing a required one, goes through ``cls``
    itself and fails as it would. ``values`` is taken over (it becomes the instance's)."""
    spec = _DEFAULTS.get(cls)
    if spec is None:
        spec = _DEFAULTS[cls] = _defaults(cls)
    plain, factories, names = spec
    for name, factory in factories:
        if name not in values:
            values[name] = factory()
    for name, default in plain:
        if name not in values:
            values[name] = default
    if values.keys() != names:
        return cls(**values)
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    return obj


def maker(cls: type[_T]) -> Callable[..., _T]:
    """``make(*values)``: ``cls(*values)`` for a frozen model dataclass given every field in
    order (as a database row holds them), without its ``__init__``, as :func:`build`; any
    other number of values goes through ``cls`` itself and fails as it would."""
    from dataclasses import fields

    _defaults(cls)  # a class with its own __init__ needs is refused, as by build
    names = tuple(f.name for f in fields(cast(Any, cls)))
    count = len(names)
    new, set_dict = object.__new__, object.__setattr__

    def make(*values: Any) -> _T:
        if len(values) != count:
            return cls(*values)
        obj = new(cls)
        set_dict(obj, "__dict__", dict(zip(names, values, strict=True)))
        return obj

    return make


_Spec = tuple[tuple[tuple[str, Any], ...], tuple[tuple[str, Any], ...], frozenset[str]]
#: per class: (fields with a default, fields with a default factory, all field names)
_DEFAULTS: dict[type, _Spec] = {}


def _defaults(cls: type) -> _Spec:
    from dataclasses import MISSING, fields

    all_fields = fields(cls)
    if any(not f.init for f in all_fields) or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} needs its own __init__")
    plain = tuple((f.name, f.default) for f in all_fields if f.default is not MISSING)
    factories = tuple((f.name, f.default_factory) for f in all_fields
                      if f.default_factory is not MISSING)
    return plain, factories, frozenset(f.name for f in all_fields)


# --------------------------------------------------------------------------- desired


@dataclass(frozen=True)
class Policy:
    allow_downgrade: bool = False
    prune: bool = False
    max_monthly_increase: Decimal | None = None
    destructive_share: Decimal = DESTRUCTIVE_SHARE


@dataclass(frozen=True)
class Site:
    name: str
    first: int
    last: int

    def contains(self, extension: int) -> bool:
        return self.first <= extension <= self.last


@dataclass(frozen=True)
class DesiredUser:
    extension: int
    mark: Mark
    name: str | None = None
    email: str | None = None
    site: str | None = None
    profile: str | None = None
    add_ons: frozenset[str] | None = None
    licence: str | None = None
    caller_id: str | None = None
    call_barring: str | None = None
    fraud_limit: int | None = None
    renumbered_from: int | None = None
    absent: bool = False
    allow_downgrade: bool | None = None
    #: field name -> mark of its value, for errors that point at one field
    marks: Mapping[str, Mark] = field(default_factory=dict, compare=False, hash=False)

    def where(self, name: str) -> Mark:
        return self.marks.get(name, self.mark)


@dataclass(frozen=True)
class DesiredAccount:
    slug: str
    platform: str
    external_id: str
    path: str
    mark: Mark
    name: str | None = None
    kind: str = "client"
    policy: Policy = Policy()
    sites: tuple[Site, ...] = ()
    #: licence key (package / SKU) -> count; None = exactly what the users need
    licences: Mapping[str, int] | None = None
    users: tuple[DesiredUser, ...] = ()
    #: ``pricing.markup``: percent on cost this customer is charged (None: the price book's)
    markup: Decimal | None = None
    marks: Mapping[str, Mark] = field(default_factory=dict, compare=False, hash=False)

    def where(self, name: str) -> Mark:
        return self.marks.get(name, self.mark)


# --------------------------------------------------------------------------- actual


@dataclass(frozen=True)
class ActualUser:
    extension: int
    user_id: str
    name: str
    profile: str
    email: str | None = None
    site: str | None = None
    add_ons: frozenset[str] = frozenset()
    licence: str | None = None
    caller_id: str | None = None
    call_barring: str | None = None
    fraud_limit: int | None = None
    #: False when the user lost service (a Call2Teams trial that expired)
    active: bool = True


@dataclass(frozen=True)
class Licence:
    """An iPECS pool entry (package -> confirmed count) or a Call2Teams subscription."""

    key: str
    quantity: int
    started_on: date | None = None
    active: bool = True


@dataclass(frozen=True)
class ChangeOrder:
    """An iPECS change order: +n / -n of one package."""

    order_id: str
    licence: str
    delta: int
    state: str  # submitted | approved | rejected | confirmed
    submitted_on: date
    idempotency_key: str | None = None

    @property
    def pending(self) -> bool:
        return self.state in ("submitted", "approved")


@dataclass(frozen=True)
class ActualAccount:
    platform: str
    external_id: str
    name: str
    kind: str = "client"
    today: date = date(2026, 1, 1)
    users: tuple[ActualUser, ...] = ()
    licences: tuple[Licence, ...] = ()
    orders: tuple[ChangeOrder, ...] = ()
    sites: tuple[Site, ...] = ()
    #: the monthly total the platform itself bills, when it reports one (the sandbox does;
    #: an http bridge sends ``billed_monthly``); None: unknown, the price book estimates it
    billed_monthly: Decimal | None = None
    #: the bill's currency where the platform says (None: taken to be the price book's,
    #: assumed); a bill in another currency than the price book's is not compared
    billed_currency: str | None = None

    def user(self, extension: int) -> ActualUser | None:
        for u in self.users:
            if u.extension == extension:
                return u
        return None

    def licence(self, key: str) -> Licence | None:
        for lic in self.licences:
            if lic.key == key:
                return lic
        return None

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of this state; a saved plan carries it.

        The bytes are ``json.dumps(to_jsonable(self), sort_keys=True, separators=(",",
        ":"))`` as first written (saved plans in the wild carry it, so it must never
        change); the C encoder makes them in one pass, calling :func:`_json_default` only
        for the model objects, sets, dates and money."""
        blob = _FINGERPRINT_JSON.encode(self)
        return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()


#: dataclass -> its field names minus marks (to_jsonable runs on every state read: the
#: plan fingerprints each account, so dataclasses.fields() is looked up once per class)
_JSON_FIELDS: dict[type, tuple[str, ...]] = {}


def to_jsonable(obj: Any) -> Any:
    """Plain JSON data from the frozen model classes (sets sorted, dates ISO, money str)."""
    cls = type(obj)
    if obj is None or cls is str or cls is int or cls is bool:
        return obj
    if hasattr(cls, "__dataclass_fields__") and not isinstance(obj, type):
        names = _JSON_FIELDS.get(cls)
        if names is None:
            from dataclasses import fields

            names = tuple(f.name for f in fields(obj) if f.name not in ("marks", "mark"))
            _JSON_FIELDS[cls] = names
        out = {}
        for name in names:  # inline for the plain values that make up most of a state
            v = getattr(obj, name)
            c = v.__class__
            out[name] = v if v is None or c is str or c is int or c is bool else to_jsonable(v)
        return out
    if isinstance(obj, (frozenset, set)):
        return sorted(obj)
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(x) for x in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    return obj


def _json_default(obj: Any) -> Any:
    """What :func:`to_jsonable` makes of one value the JSON encoder cannot write itself,
    one level deep (the encoder recurses): a dataclass's fields minus marks (its own
    ``__dict__`` when it has no marks), a set sorted, a date in ISO, money as str."""
    cls = type(obj)
    if hasattr(cls, "__dataclass_fields__") and not isinstance(obj, type):
        names = _JSON_FIELDS.get(cls)
        if names is None:
            to_jsonable(obj)  # caches the names
            names = _JSON_FIELDS[cls]
        own = getattr(obj, "__dict__", None)
        if own is not None and len(own) == len(names):
            return own  # exactly the fields: the marks-free model classes of live state
        return {name: getattr(obj, name) for name in names}
    if isinstance(obj, (frozenset, set)):
        return sorted(obj)
    if isinstance(obj, Mapping):
        return {str(k): v for k, v in obj.items()}
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, Decimal):
        return str(obj)
    raise TypeError(f"{cls.__name__} is not part of the model")


#: the fingerprint's encoder: the canonical JSON (sorted keys, no spaces, ASCII)
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"),
                                     default=_json_default)
