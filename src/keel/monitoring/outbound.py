"""Outbound HTTP for alerts, guarded against server-side request forgery.

A webhook URL is a value a user gave the server, and the server calls it: without a guard
it would let anyone who may create a channel make the server reach its own network
(``http://127.0.0.1:5432``, a cloud metadata address, an admin port). So a request goes out
only when all of these hold:

- the scheme is ``http`` or ``https`` and the URL carries no user name or password;
- the host is on the allow-list (``KEEL_ALERT_ALLOWED_HOSTS``: exact names, or
  ``*.example.com`` for its sub-domains; ``*`` allows any public host);
- every address the name resolves to is public (not private, loopback, link-local,
  multicast, reserved or unspecified), unless it falls in a network named in
  ``KEEL_ALERT_ALLOWED_NETWORKS`` (an intranet receiver, ``10.1.2.0/24``);
- the connection goes to the address that was checked, not to a second lookup of the name
  (which a DNS server could answer differently: DNS rebinding); TLS still checks the
  certificate against the name;
- redirects are never followed (a 3xx is a failed delivery), and no proxy from the
  environment is used.

>>> policy = OutboundPolicy(allowed_hosts=("hooks.example.com",))
>>> policy.check_url("http://169.254.169.254/latest/meta-data")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
keel.errors.Forbidden: webhook URL host '169.254.169.254': not on the allow-list ...
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

from keel.errors import Forbidden, InvalidArgument, StoreUnavailable

if TYPE_CHECKING:
    from keel.config import Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Sequence[str]]

MAX_URL_LENGTH = 2048


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise StoreUnavailable(f"webhook host {host!r}: cannot be resolved ({exc})") from None
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True, slots=True)
class Target:
    """A checked destination: connect to ``address``, speak to ``host``."""

    url: str
    host: str
    port: int
    address: str

    @property
    def address_url(self) -> str:
        """The URL with the checked address in place of the name."""
        parts = urlsplit(self.url)
        literal = f"[{self.address}]" if ":" in self.address else self.address
        netloc = f"{literal}:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    allowed_hosts: tuple[str, ...] = ()
    allowed_networks: tuple[str, ...] = ()
    timeout: float = 10.0

    def __post_init__(self) -> None:
        for cidr in self.allowed_networks:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise InvalidArgument(
                    f"KEEL_ALERT_ALLOWED_NETWORKS: {cidr!r} is not a network (10.0.0.0/8)"
                ) from None

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(settings.alert_allowed_hosts, settings.alert_allowed_networks)

    @property
    def networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.allowed_networks)

    def check_url(self, url: object, field: str = "webhook URL") -> SplitResult:
        """The URL's parts, when its scheme, form and host are acceptable (no lookup)."""
        if not isinstance(url, str) or not url:
            raise InvalidArgument(f"{field}: must be a non-empty string")
        if len(url) > MAX_URL_LENGTH:
            raise InvalidArgument(f"{field}: longer than {MAX_URL_LENGTH} characters")
        if any(ord(c) < 33 or ord(c) == 127 for c in url):
            raise InvalidArgument(f"{field}: must not contain spaces or control characters")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise InvalidArgument(f"{field} {url!r}: the scheme must be http or https")
        if parts.username is not None or parts.password is not None:
            raise InvalidArgument(f"{field}: must not carry a user name or password")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise InvalidArgument(f"{field} {url!r}: the port must be 1 to 65535") from None
        host = (parts.hostname or "").rstrip(".").lower()
        if not host:
            raise InvalidArgument(f"{field} {url!r}: has no host")
        if not self._host_allowed(host):
            raise Forbidden(
                f"{field} host {host!r}: not on the allow-list; list it in "
                f"KEEL_ALERT_ALLOWED_HOSTS (e.g. KEEL_ALERT_ALLOWED_HOSTS={host}) where the "
                "monitors run: this machine on an embedded store, keel server through one"
            )
        return parts

    def _host_allowed(self, host: str) -> bool:
        for entry in self.allowed_hosts:
            entry = entry.strip().lower().rstrip(".")
            if entry == "*" or entry == host:
                return True
            if entry.startswith("*.") and host.endswith(entry[1:]):
                return True
        return False

    def resolve(self, url: str, resolver: Resolver = system_resolver) -> Target:
        """The destination to connect to: the URL checked, its host resolved, and every
        address it resolves to public or in an allowed network (one bad address refuses
        the URL: a name that also points inside is not trusted for its other answers)."""
        parts = self.check_url(url)
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = _literal(host)
        found = [addresses] if addresses is not None else [_parse(a) for a in resolver(host, port)]
        if not found:
            raise StoreUnavailable(f"webhook host {host!r}: resolves to no address")
        networks = self.networks
        for address in found:
            if not address.is_global and not any(address in n for n in networks):
                raise Forbidden(
                    f"webhook URL host {host!r}: resolves to {address}, a private, loopback, "
                    "link-local or reserved address; name its network in "
                    "KEEL_ALERT_ALLOWED_NETWORKS to allow it"
                )
        return Target(url=url, host=host, port=port, address=str(found[0]))


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _parse(raw: str) -> Address:
    address = ipaddress.ip_address(raw.split("%", 1)[0])
    # An IPv4 address written as IPv6 (::ffff:127.0.0.1) is judged as the IPv4 one.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class Delivery:
    status: int
    target: Target


def post(
    policy: OutboundPolicy,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    resolver: Resolver = system_resolver,
    transport: Any = None,
) -> Delivery:
    """POST ``body`` to ``url`` under ``policy``; a 2xx answer is a delivery, anything
    else (a redirect included) raises :class:`DeliveryFailed`."""
    import httpx

    target = policy.resolve(url, resolver)
    request_headers = {**headers, "Host": _host_header(target, url)}
    try:
        with httpx.Client(
            timeout=policy.timeout, follow_redirects=False, trust_env=False, transport=transport
        ) as client:
            response = client.post(
                target.address_url,
                content=body,
                headers=request_headers,
                extensions={"sni_hostname": target.host},
            )
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{target.host}: {type(exc).__name__}: {exc}") from None
    if response.is_redirect:
        raise DeliveryFailed(
            f"{target.host}: answered {response.status_code} (a redirect); redirects are "
            "never followed"
        )
    if not response.is_success:
        raise DeliveryFailed(f"{target.host}: answered {response.status_code}")
    return Delivery(response.status_code, target)


def _host_header(target: Target, url: str) -> str:
    default = 443 if url.startswith("https:") else 80
    return target.host if target.port == default else f"{target.host}:{target.port}"


class DeliveryFailed(StoreUnavailable):
    """The receiver could not be reached or did not accept the alert."""
