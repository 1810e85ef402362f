"""Money is ``decimal.Decimal`` everywhere; on the wire it is a string with two places."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def money(value: str | int | Decimal) -> Decimal:
    """Parse a price ("12.5", 12, Decimal) into a Decimal rounded to the cent.

    Floats are refused: a YAML price written as 12.50 must be quoted or an int, so that no
    binary rounding ever reaches a bill.
    """
    if isinstance(value, (float, bool)):
        raise ValueError(f"money must be a string or an integer, not {value!r}")
    try:
        return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as e:
        raise ValueError(f"not an amount of money: {value!r}") from e


def fmt(value: Decimal) -> str:
    """"12.50": the plan's wire format (always two places, never a float)."""
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def signed(value: Decimal) -> str:
    """"+12.50" / "-3.00" / "0.00" for deltas in rendered plans."""
    q = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"+{q}" if q > 0 else str(q)
