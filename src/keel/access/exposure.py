"""Deny by default on the network: a server that others can reach needs authentication
(users in its store) unless its operator knowingly says otherwise. ``keel server`` and
``keel serve`` both refuse an open non-loopback address."""

from __future__ import annotations

from keel.errors import InvalidArgument


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only.

    >>> is_loopback("127.0.0.1"), is_loopback("0.0.0.0")
    (True, False)
    """
    import ipaddress

    if host.strip().lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def refuse_open_exposure(host: str, *, has_users: bool, insecure_no_auth: bool) -> None:
    """``InvalidArgument`` for an open server on an address others can reach, unless
    ``insecure_no_auth``."""
    if has_users or insecure_no_auth or is_loopback(host):
        return
    raise InvalidArgument(
        f"--host {host}: this store has no users, so anyone who can reach the server could "
        "do anything. Create an admin first (keel users create NAME --admin -t <store URI>) "
        "or bind to 127.0.0.1; --insecure-no-auth serves it open anyway"
    )
