"""Reading the environment: the one way reconciler takes a value from it.

A variable may hold a secret: ``role_env`` or ``token_env`` in reconciler.yaml may name
any variable, ``MITEL_API_TOKEN`` included. So a value read here is an :class:`EnvValue`:
in any message, f-string, ``repr`` or log it shows as the variable's *name*
(``$MITEL_API_TOKEN``), never its content; :meth:`EnvValue.reveal` gives the content to
the one place that uses it (a comparison, a request header). Messages about a bad value
name the variable and say what was expected, without quoting it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class EnvValue:
    """The value of one environment variable that prints as its name."""

    __slots__ = ("_value", "name")

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self._value = value

    def reveal(self) -> str:
        """The content, for the code that uses it; never for a message."""
        return self._value

    def __str__(self) -> str:
        return f"${self.name}"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EnvValue) and (self.name, self._value) == (other.name,
                                                                            other._value)

    def __hash__(self) -> int:
        return hash((self.name, self._value))


def env_value(name: str, environ: Mapping[str, str] | None = None) -> EnvValue | None:
    """The variable ``name`` if it is set and not empty, else None."""
    value = (os.environ if environ is None else environ).get(name)
    return EnvValue(name, value) if value else None


def env_flag(name: str) -> bool:
    """Whether ``name`` is set (to anything, even empty): NO_COLOR, RECONCILER_DEBUG."""
    return name in os.environ
