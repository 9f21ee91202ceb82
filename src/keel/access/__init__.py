"""Identity and access: who is calling (users, service accounts and their API tokens) and
what they may do (roles on projects). See :mod:`keel.access.service` and
:mod:`keel.access.permissions`."""

from __future__ import annotations

from keel.access.service import AccessService, open_access

__all__ = ["AccessService", "open_access"]
