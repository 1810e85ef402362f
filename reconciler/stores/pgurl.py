"""The PostgreSQL state store's URL: its password taken out before the driver sees it,
and the URL as messages show it.

The password of ``RECONCILER_STATE_URL=postgresql://user:secret@host/db`` (or
``?password=secret``) is removed from the URL and handed to the driver on its own, so no
error of libpq or psycopg (which quote the part of a URL they could not read) can ever
carry it. A URL whose password would be misread (an unencoded ``@``, ``/``, ``?`` or ``#``
in it, a bad percent-encoding) is refused before it is used, with a message that quotes
nothing of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from reconciler.state import StateError

SCHEMES = ("postgresql://", "postgres://")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})|%00")
_ENCODE = "percent-encode @ / ? # % in the user name and password (%40 %2F %3F %23 %25)"


@dataclass(frozen=True)
class StateUrl:
    #: the URL without any password: what the driver gets
    url: str
    #: the password the URL held (decoded), or None
    password: str | None
    #: the URL as messages show it: user, host, port and database, nothing else
    shown: str


def parse_state_url(url: str, source: str) -> StateUrl:
    """``url`` split into the URL the driver gets and its password. ``source`` names where
    the URL came from (``RECONCILER_STATE_URL``, ``state.url``) for the one-line error a
    malformed URL gets; the error never quotes the URL, which may hold the password."""
    scheme = next((s for s in SCHEMES if url.startswith(s)), None)
    if scheme is None:
        raise StateError(f"{source} is not a PostgreSQL URL: it must start with postgresql://")
    rest = url[len(scheme):]
    # the authority ends at the first / ? or # (RFC 3986); its user info at its last @
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if "@" in tail:
        raise StateError(f"{source} is malformed: an @ after its host; {_ENCODE}")
    for host in hostport.split(","):
        port = host.rpartition("]")[2] if host.startswith("[") else host
        port = port.rpartition(":")[2] if ":" in port else ""
        if port and not (port.isascii() and port.isdigit()):
            raise StateError(f"{source} is malformed: a port that is not a number")
    user, colon, raw_password = userinfo.partition(":")
    password = None
    if colon:
        if _BAD_ESCAPE.search(raw_password):
            raise StateError(f"{source} is malformed: a bad percent-encoding in its password")
        password = unquote(raw_password)
    path, question, query = tail.partition("?")
    kept = []
    for item in query.split("&") if question else []:
        key, _, value = item.partition("=")
        if unquote(key) == "password":
            if _BAD_ESCAPE.search(value):
                raise StateError(
                    f"{source} is malformed: a bad percent-encoding in its password"
                )
            password = unquote(value)
        else:
            kept.append(item)
    clean = scheme + (user + at if at else "") + hostport + path
    if kept:
        clean += "?" + "&".join(kept)
    return StateUrl(clean, password, _shown(clean, source))


def _shown(url: str, source: str) -> str:
    """``postgresql://user@host:port/db``; ``[::1]`` for an IPv6 host and ``?host=/dir``
    for a Unix socket directory, as one would write them."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception as e:  # noqa: BLE001 - psycopg.ProgrammingError and kin
        # the URL holds no password any more: the driver's words may be shown
        raise StateError(f"{source} is malformed: {' '.join(str(e).split())}") from None
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host", ""))
    port = str(parts.get("port", ""))
    db = f"/{parts['dbname']}" if parts.get("dbname") else ""
    if host.startswith("/"):  # a Unix socket directory
        socket = f"?host={host}" + (f"&port={port}" if port else "")
        return f"postgresql://{user}{db or '/'}{socket}"
    hosts = [f"[{h}]" if ":" in h else h for h in host.split(",")] if host else []
    ports = [p for p in port.split(",") if p]
    if len(ports) > 1 and len(ports) == len(hosts):  # a port per host
        where = ",".join(f"{h}:{p}" for h, p in zip(hosts, ports, strict=True))
    else:
        where = ",".join(hosts) + (f":{ports[0]}" if ports else "")
    return f"postgresql://{user}{where}{db}"
