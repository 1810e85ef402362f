"""``reconciler import``: an account file written from live state, such that a plan of it
has no changes.

Rendered with a jinja2 template rather than a YAML dumper: the file then reads like the
hand-written demo accounts (key order, block style, short comments), and quoting is decided
by one function, :func:`yaml_scalar`, tested against the YAML 1.1 loader that validate uses
(ruamel's dumper follows YAML 1.2 and would write ``yes`` or ``0102`` unquoted, which a 1.1
loader reads as a boolean or a number).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import jinja2
import yaml

from reconciler.catalog import Catalog
from reconciler.escape import terminal
from reconciler.model import ActualAccount, ActualUser
from reconciler.platforms import PLATFORMS
from reconciler.platforms.base import Platform

SCHEMA_HEADER = "# yaml-language-server: $schema=../schemas/account.schema.json"

# Plain (unquoted) only for text made of these characters, starting with a letter or digit.
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.@/()+,'&-]*")
# What YAML 1.2 (editors, other tools) reads as a number; PyYAML (1.1) misses some of these.
_NUMBER_12 = re.compile(
    r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+"
)
# YAML 1.1 booleans PyYAML does not resolve but the spec (and other loaders) do.
_BOOL_EXTRA = frozenset(("y", "n", "Y", "N"))
_BREAKS = frozenset((0x85, 0x2028, 0x2029, 0xFEFF))


def _printable(code: int) -> bool:
    return code not in _BREAKS and (
        code in (0x09, 0x0A, 0x0D)
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )


def yaml_scalar(value: Any) -> str:
    """One scalar as YAML text that every YAML loader reads back as exactly ``value``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if (
        _PLAIN.fullmatch(text)
        and not text.endswith(" ")
        and not _NUMBER_12.fullmatch(text)
        and text not in _BOOL_EXTRA
        and yaml.safe_load(text) == text
    ):
        return text
    # A JSON string is a YAML double-quoted scalar; escape what YAML may not carry raw
    # (line separators a loader would fold, non-printable characters).
    quoted = json.dumps(text, ensure_ascii=False)
    return "".join(
        ch if _printable(ord(ch)) else (
            f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
        )
        for ch in quoted
    )


_TEMPLATE = """\
{{ header }}
# Imported from {{ label }} account {{ a.external_id }} on {{ a.today }}: the live state as it was.
account: {{ slug | q }}
platform: {{ a.platform | q }}
external_id: {{ a.external_id | q }}
{% if a.name %}name: {{ a.name | q }}
{% endif %}{% if platform.account_kinds %}kind: {{ a.kind | q }}
{% endif %}
{%- if a.sites %}sites:
{% for s in a.sites %}  {{ s.name | q }}: {extensions: "{{ s.first }}-{{ s.last }}"}
{% endfor %}{% endif %}
{%- if a.licences %}licences:{{ licences_comment }}
{% for lic in a.licences %}  {{ lic.key | q }}: {{ lic.quantity }}{{ notes.get(lic.key, "") }}
{% endfor %}{% endif %}
{%- for o in pending %}# change order {{ o.order_id }} ({{ o.licence }} {{ "%+d" % o.delta }}) is \
{{ o.state }}: not counted above until final-confirmed
{% endfor %}
{%- if users %}users:
{% for u in users %}  - extension: {{ u.extension }}{{ u.comment }}
{% for key, value in u.fields %}    {{ key }}: {{ value }}
{% endfor %}{% endfor %}{% else %}users: []
{% endif %}"""



def _environment() -> jinja2.Environment:
    # Every value in a key's place goes through ``q`` (a quoted scalar when it must be);
    # everything else printed (the comments quote ids, names, order states from the
    # platform) is kept to one line by ``finalize``: a newline in an external id must not
    # start a line of its own, e.g. ``policy: {prune: true}``.
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
        finalize=lambda value: terminal(value) if isinstance(value, str) else value,
    )
    env.filters["q"] = yaml_scalar
    return env


def _user_fields(platform: Platform, user: ActualUser) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for name in platform.user_fields:
        if name == "add_ons":
            # always written: [] manages "no add-ons" (omitted would leave them unmanaged)
            fields.append((name, "[" + ", ".join(yaml_scalar(a) for a in sorted(user.add_ons))
                           + "]"))
            continue
        value = getattr(user, name)
        if value is not None:
            fields.append((name, yaml_scalar(value)))
    return fields


def slugify(name: str) -> str:
    """"Northwind Traders" -> "northwind-traders" (the account file slug rule [a-z0-9-])."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug or "account"


def slug_for(name: str, external_id: str) -> str:
    slug = slugify(name)
    return slug if slug != "account" else slugify(external_id)


def render_account(actual: ActualAccount, catalog: Catalog | None = None,
                   slug: str | None = None) -> str:
    """The account file for ``actual``: every user with every field the platform manages,
    licences exactly as the live pool / subscriptions, the sites."""
    platform = PLATFORMS[actual.platform]
    notes: dict[str, str] = {}
    for lic in actual.licences:
        product = catalog.product(lic.key) if catalog is not None else None
        days = platform.trial_days if product is not None and product.trial else None
        if days is not None and lic.started_on is not None:
            end = lic.started_on + timedelta(days=days)
            state = "ends" if lic.active else "ended"
            notes[lic.key] = f"  # trial: {state} {end}"
        elif not lic.active:
            notes[lic.key] = "  # cancelled"
    users = [
        {
            "extension": u.extension,
            "comment": "" if u.active else "  # no service: its subscription is cancelled",
            "fields": _user_fields(platform, u),
        }
        for u in sorted(actual.users, key=lambda u: u.extension)
    ]
    return _environment().from_string(_TEMPLATE).render(
        header=SCHEMA_HEADER,
        label=platform.label,
        platform=platform,
        a=actual,
        slug=slug or slug_for(actual.name, actual.external_id),
        licences_comment=platform.licences_comment,
        notes=notes,
        pending=[o for o in actual.orders if o.pending],
        users=users,
    )
