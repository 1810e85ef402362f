"""Which machine and process namespace a lease's holder runs in.

A lease names its holder's host and pid, and a lease of a process on *this* host that no
longer exists is taken over at once. A host name alone does not prove "this host": two
containers or virtual machines given the same name (``docker run --hostname runner``, a
cloned VM image) would each see the other's pid as missing, and take over a lease whose
holder is alive and writing. So each lease's token starts with this machine's identity:
the host name, the kernel's boot id and the pid namespace (assumed: what makes "pid N on
this host" mean the same process); only a token with our identity is checked by pid.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from functools import lru_cache


@lru_cache(maxsize=1)
def host_id() -> str:
    """16 hex digits naming this host name, boot and pid namespace."""
    parts = [socket.gethostname()]
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            parts.append(f.read().strip())
    except OSError:  # not Linux: the host name only
        pass
    with contextlib.suppress(OSError):
        parts.append(str(os.stat("/proc/self/ns/pid").st_ino))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def new_token() -> str:
    """A lease token: this host's identity, a dot, a random part."""
    import uuid

    return f"{host_id()}.{uuid.uuid4().hex}"


def same_host(token: str) -> bool:
    """Whether a lease with this token was taken in this host's pid namespace (a token
    from before identities, without a dot, is not: it is left to expire)."""
    return token.partition(".")[0] == host_id() and "." in token
