"""The portal provider (``kind: portal``): exports in, a click-by-click runbook out.

Registered in :data:`reconciler.provider.PROVIDER_KINDS` as
``reconciler.portal.provider:portal_provider`` (imported on first use). Per-platform
knowledge (columns, click paths, wording) lives in ``reconciler/platforms/<p>/portal.py``.
"""
