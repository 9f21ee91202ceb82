"""Where alerts are sent: a webhook (the body signed with HMAC-SHA256), a Slack incoming
webhook, or e-mail over SMTP.

A webhook receiver checks a delivery by recomputing the signature over the timestamp and
the body with the channel's secret::

    expected = hmac.new(secret, f"{timestamp}.".encode() + body, "sha256").hexdigest()
    ok = hmac.compare_digest(f"sha256={expected}", request.headers["X-Keel-Signature"])

and refuses a timestamp older than a few minutes (a replayed delivery).
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from keel.errors import InvalidArgument
from keel.monitoring.alert_state import Notification
from keel.monitoring.outbound import DeliveryFailed, OutboundPolicy, Resolver, post, system_resolver

SIGNATURE_HEADER = "X-Keel-Signature"
TIMESTAMP_HEADER = "X-Keel-Timestamp"
MIN_SECRET_BYTES = 16


class Channel(Protocol):
    @property
    def kind(self) -> str: ...

    def send(self, notification: Notification) -> None:
        """Deliver, or raise :class:`DeliveryFailed`."""
        ...


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


@dataclass(frozen=True, slots=True)
class WebhookChannel:
    url: str
    secret: bytes
    policy: OutboundPolicy
    resolver: Resolver = system_resolver
    kind: str = "webhook"

    def __post_init__(self) -> None:
        self.policy.check_url(self.url)
        if len(self.secret) < MIN_SECRET_BYTES:
            raise InvalidArgument(
                f"webhook secret: must be at least {MIN_SECRET_BYTES} bytes (it signs every "
                "delivery so the receiver can tell it came from this server)"
            )

    def send(self, notification: Notification) -> None:
        body = orjson.dumps(notification.to_dict())
        stamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(self.secret, stamp, body),
            "User-Agent": "keel-alerts",
        }
        post(self.policy, self.url, body, headers, resolver=self.resolver)


@dataclass(frozen=True, slots=True)
class SlackChannel:
    """A Slack incoming webhook (``https://hooks.slack.com/services/...``): the alert as a
    line of text, the host on the allow-list like any other."""

    url: str
    policy: OutboundPolicy
    resolver: Resolver = system_resolver
    kind: str = "slack"

    def __post_init__(self) -> None:
        self.policy.check_url(self.url, field="Slack webhook URL")

    def send(self, notification: Notification) -> None:
        body = orjson.dumps({"text": notification.summary_line()})
        post(
            self.policy,
            self.url,
            body,
            {"Content-Type": "application/json"},
            resolver=self.resolver,
        )


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """``KEEL_SMTP_URL``: ``smtp://user:password@host:587?starttls=true&from=keel@example.com``
    (``smtps://`` for TLS from the start)."""

    host: str
    port: int
    sender: str
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    tls: bool = False
    timeout: float = 10.0

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise InvalidArgument(
                f"KEEL_SMTP_URL: the scheme must be smtp or smtps, got {parts.scheme!r}"
            )
        if not parts.hostname:
            raise InvalidArgument("KEEL_SMTP_URL: has no host")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        sender = query.get("from")
        if not sender or "@" not in sender:
            raise InvalidArgument("KEEL_SMTP_URL: needs from=<address> (the alerts' sender)")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 25),
            sender=sender,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            starttls=query.get("starttls", "").lower() in ("1", "true", "yes"),
            tls=tls,
        )


@dataclass(frozen=True, slots=True)
class EmailChannel:
    recipients: tuple[str, ...]
    smtp: SmtpSettings
    kind: str = "email"

    def __post_init__(self) -> None:
        if not self.recipients:
            raise InvalidArgument("email channel: needs at least one recipient")
        for address in self.recipients:
            if (
                not isinstance(address, str)
                or address.count("@") != 1
                or any(c in address for c in "\r\n,;<> ")
            ):
                raise InvalidArgument(f"email channel recipient {address!r}: not one address")

    def send(self, notification: Notification) -> None:
        message = EmailMessage()
        message["Subject"] = notification.summary_line()
        message["From"] = formataddr(("Keel alerts", self.smtp.sender))
        message["To"] = ", ".join(self.recipients)
        message["Message-ID"] = make_msgid(domain=self.smtp.sender.split("@", 1)[1])
        message.set_content(notification.as_text())
        try:
            with _connect(self.smtp) as client:
                if self.smtp.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.smtp.user is not None:
                    client.login(self.smtp.user, self.smtp.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"SMTP {self.smtp.host}:{self.smtp.port}: {exc}") from None


def _connect(settings: SmtpSettings) -> Any:
    if settings.tls:
        return smtplib.SMTP_SSL(
            settings.host,
            settings.port,
            timeout=settings.timeout,
            context=ssl.create_default_context(),
        )
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
