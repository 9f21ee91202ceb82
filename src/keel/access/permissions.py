"""What each permission a route names needs: a resource kind and a minimum role.

Reading needs ``reader``; creating and changing needs ``editor``; deleting, recording
checks, changing alias policies and deciding promotions need ``maintainer``; managing
users, other principals' tokens, projects and grants needs ``admin`` (a principal marked
admin), as does server-wide ``maintenance``. A route names one of these
(``requires("run:write")``); a test fails on any API route that names none.
"""

from __future__ import annotations

from dataclasses import dataclass

from keel.entities.access import Role


@dataclass(frozen=True, slots=True)
class Permission:
    name: str
    resource: str
    """What the project is found from: ``experiment``, ``run``, ``model``, ``dataset``,
    ``deployment``, or ``server`` (nothing in the path names one)."""
    role: Role


def _table(*rows: tuple[str, Role]) -> dict[str, Permission]:
    return {name: Permission(name, name.split(":")[0], role) for name, role in rows}


PERMISSIONS: dict[str, Permission] = _table(
    ("experiment:read", Role.READER),
    ("experiment:write", Role.EDITOR),
    ("experiment:delete", Role.MAINTAINER),
    ("run:read", Role.READER),
    ("run:write", Role.EDITOR),
    ("run:delete", Role.MAINTAINER),
    ("model:read", Role.READER),
    ("model:write", Role.EDITOR),
    ("model:delete", Role.MAINTAINER),
    # Checks, alias policies and promotion decisions: what a review rests on.
    ("model:review", Role.MAINTAINER),
    ("dataset:read", Role.READER),
    ("dataset:write", Role.EDITOR),
    # Deployments: changing one changes what production answers, a maintainer's call;
    # reading one covers its prediction log.
    ("deployment:read", Role.READER),
    ("deployment:write", Role.MAINTAINER),
    ("audit:read", Role.MAINTAINER),
    # Monitors watch deployments and send alerts out: changing them is a maintainer's.
    ("monitor:read", Role.READER),
    ("monitor:write", Role.MAINTAINER),
    # A model server's predict and feedback routes, once its store has users.
    ("deployment:predict", Role.READER),
    # Only an authenticated principal: its own tokens, who it is.
    ("self", Role.READER),
    # Users, tokens of others, projects, groups, grants: never on a server without users.
    ("admin", Role.ADMIN),
    # Server-wide housekeeping (reaping lost runs): admins, or anyone on an open server.
    ("maintenance", Role.ADMIN),
)
"""Every permission there is."""


def permission(name: str) -> Permission:
    found = PERMISSIONS.get(name)
    if found is None:  # a programming error: the route names a permission that is not here
        raise KeyError(f"unknown permission {name!r}; known: {', '.join(PERMISSIONS)}")
    return found
