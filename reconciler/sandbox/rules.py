"""The simulated platforms' own rules, stated here from the seeds (and marked where assumed),
not imported from the planner: the sandbox checks the planner, so a wrong rule in
``reconciler/platforms/`` shows up as the platform's refusal in tests instead of passing
twice. Prices and display names still come from the price list (``Sandbox.catalogs``).
"""

from __future__ import annotations

# ----------------------------------------------------------------- Mitel Connect CLOUD

#: Only a Decision Maker or a Phone Manager may swap profile types or add users (seed 000).
MITEL_ROLES_THAT_MAY_CHANGE = ("decision-maker", "phone-manager")

_ALL_BUT_COURTESY = frozenset(("telephony", "essentials", "standard", "advanced"))

#: add-on -> the profile types it is available on: call recording, fax and Teams
#: integration on every profile but Courtesy (public); the contact-center agent on Advanced
#: only and the recording archive from Standard up (assumed).
MITEL_ADD_ON_PROFILES: dict[str, frozenset[str]] = {
    "call-recording": _ALL_BUT_COURTESY,
    "fax": _ALL_BUT_COURTESY,
    "teams-integration": _ALL_BUT_COURTESY,
    "contact-center": frozenset(("advanced",)),
    "recording-archive": frozenset(("standard", "advanced")),
}

#: add-on -> the add-ons it needs enabled on the same user (assumed)
MITEL_ADD_ON_REQUIRES: dict[str, frozenset[str]] = {
    "recording-archive": frozenset(("call-recording",)),
}


def mitel_add_on_allowed(add_on: str, profile: str) -> bool:
    return profile in MITEL_ADD_ON_PROFILES.get(add_on, frozenset())


def mitel_requires(add_on: str) -> frozenset[str]:
    return MITEL_ADD_ON_REQUIRES.get(add_on, frozenset())


# ----------------------------------------------------------------------- iPECS Cloud

#: The packages, lowest to highest (the seed's Change Package dialog); Change Package only
#: goes up this ladder, down is delete and re-create.
IPECS_LADDER = (
    "Stand Alone VM",
    "Basic User With VM",
    "Premium iPECS ONE USER",
    "Premium PLUS iPECS ONE USER",
)


def ipecs_is_upgrade(old: str, new: str) -> bool:
    return (old in IPECS_LADDER and new in IPECS_LADDER
            and IPECS_LADDER.index(new) > IPECS_LADDER.index(old))


# ------------------------------------------------------------------------ Call2Teams

#: A trial subscription is cancelled this many days after it started (seed 002).
TRIAL_DAYS = 30

USER_KINDS = ("pbx", "trunk", "internal")

#: SKU family -> the user kind its licences serve (seed 002); internal-use family C2TU-I
_FAMILIES = (("C2TU-I", "internal"), ("C2TUT", "pbx"), ("T2TUT", "trunk"),
             ("C2TU", "pbx"), ("T2TU", "trunk"))
TRIAL_SKUS = frozenset(("C2TUT", "T2TUT"))


def c2t_user_kind(sku: str) -> str | None:
    """The user kind a SKU's licences serve, None for a SKU the platform does not offer."""
    for prefix, kind in _FAMILIES:
        if sku.startswith(prefix):
            return kind
    return None


def c2t_is_trial(sku: str) -> bool:
    return sku in TRIAL_SKUS


def c2t_is_internal(sku: str) -> bool:
    """Internal-User licences: for the partner's own staff only (seed 002)."""
    return sku.startswith("C2TU-I")
