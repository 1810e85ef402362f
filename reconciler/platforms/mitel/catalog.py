"""Mitel (ShoreTel) Connect CLOUD catalog: profile types, add-ons, included features.

Sources: seed 000 (the five profile types; swap = change a profile type; add-ons a new
profile does not support are removed; no second NRC on a swap; only Decision Makers and
Phone Managers may swap). Prices are SAMPLE list prices: none are public.
"""

from __future__ import annotations

from decimal import Decimal as D

from reconciler.catalog import AddOn, Catalog, Product

PLATFORM = "mitel-connect"

# (assumed) The ladder courtesy < telephony < essentials < standard < advanced: the seed
# lists the five types and gives Essentials -> Advanced as an upgrade and Advanced ->
# Essentials/Courtesy as downgrades; the order between the others is our assumption.
LADDER = ("courtesy", "telephony", "essentials", "standard", "advanced")

_ALL_BUT_COURTESY = frozenset(LADDER[1:])
_STANDARD_UP = frozenset(("standard", "advanced"))

# Add-on availability per profile (public: each feature is included, a paid add-on or not
# available per profile). Entries marked (assumed) are ours.
_ADD_ONS_FOR: dict[str, frozenset[str]] = {
    # not on courtesy (public)
    "call-recording": _ALL_BUT_COURTESY,
    # paid add-on on any profile but courtesy (public)
    "fax": _ALL_BUT_COURTESY,
    # telephony and up; one-time setup charge, no monthly (public)
    "teams-integration": _ALL_BUT_COURTESY,
    # advanced only (assumed)
    "contact-center": frozenset(("advanced",)),
    # standard and up and needs call-recording (assumed)
    "recording-archive": _STANDARD_UP,
}

ADD_ONS = {
    "call-recording": AddOn("call-recording", "Call Recording", D("6.00")),
    "fax": AddOn("fax", "Fax", D("4.00")),
    "teams-integration": AddOn("teams-integration", "Microsoft Teams Integration", D("0.00"),
                               one_time=D("25.00")),
    "contact-center": AddOn("contact-center", "Contact Center Agent", D("30.00")),
    "recording-archive": AddOn("recording-archive", "Recording Archive", D("3.00"),
                               requires=frozenset(("call-recording",))),
}

FEATURES = {
    "voicemail": "Voicemail",
    "mobility": "Mobility (Connect mobile app)",
    "conferencing": "Audio Conferencing",
    "video": "Video Meetings",
}

# Included features per profile: mobility from essentials up (public); voicemail from
# telephony up, conferencing from standard up and video on advanced (assumed).
_INCLUDED = {
    "courtesy": frozenset(),
    "telephony": frozenset(("voicemail",)),
    "essentials": frozenset(("voicemail", "mobility")),
    "standard": frozenset(("voicemail", "mobility", "conferencing")),
    "advanced": frozenset(("voicemail", "mobility", "conferencing", "video")),
}

# SAMPLE prices: (monthly, one-time NRC for a new profile)
_PRICES = {
    "courtesy": (D("5.00"), D("0.00")),
    "telephony": (D("15.00"), D("20.00")),
    "essentials": (D("22.00"), D("20.00")),
    "standard": (D("29.00"), D("20.00")),
    "advanced": (D("39.00"), D("20.00")),
}

_DISPLAY = {key: f"{key.capitalize()} CLOUD" for key in LADDER}

CATALOG = Catalog(
    platform=PLATFORM,
    products={
        key: Product(
            key=key,
            display=_DISPLAY[key],
            rank=rank,
            monthly=_PRICES[key][0],
            one_time=_PRICES[key][1],
            included=_INCLUDED[key],
            add_ons=frozenset(a for a, profiles in _ADD_ONS_FOR.items() if key in profiles),
        )
        for rank, key in enumerate(LADDER)
    },
    add_ons=ADD_ONS,
    features=FEATURES,
)

#: Credential roles that may swap profile types and add users (seed 000, public).
ROLES_THAT_MAY_CHANGE = ("decision-maker", "phone-manager")
ROLES = ROLES_THAT_MAY_CHANGE + ("billing-contact", "technical-contact", "emergency-contact")
