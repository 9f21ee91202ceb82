"""Channels as a monitor stores them, and the channels they make.

    {"kind": "webhook", "url": "https://hooks.example.com/keel", "secret": "<16+ chars>"}
    {"kind": "slack", "url": "https://hooks.slack.com/services/T000/B000/XXXX"}
    {"kind": "email", "to": ["oncall@example.com"]}

A channel is checked when the monitor is created (its URL against the allow-list, its
secret's length, its addresses), and built again from the stored form at each run, under
the settings of the process that runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keel.config import Settings
from keel.errors import InvalidArgument
from keel.monitoring.channels import (
    Channel,
    EmailChannel,
    SlackChannel,
    SmtpSettings,
    WebhookChannel,
)
from keel.monitoring.outbound import OutboundPolicy

_FIELDS = {"webhook": {"kind", "url", "secret"}, "slack": {"kind", "url"}, "email": {"kind", "to"}}


def build_channel(raw: Mapping[str, Any], settings: Settings) -> Channel:
    if not isinstance(raw, Mapping):
        raise InvalidArgument("monitor channel: must be an object with a kind")
    kind = raw.get("kind")
    if kind not in _FIELDS:
        raise InvalidArgument(
            f"monitor channel kind {kind!r}: must be one of {', '.join(sorted(_FIELDS))}"
        )
    unknown = set(raw) - _FIELDS[kind]
    if unknown:
        raise InvalidArgument(
            f"monitor {kind} channel: unknown field(s) {', '.join(sorted(unknown))}; "
            f"known: {', '.join(sorted(_FIELDS[kind]))}"
        )
    policy = OutboundPolicy.from_settings(settings)
    if kind == "webhook":
        secret = raw.get("secret")
        if not isinstance(secret, str):
            raise InvalidArgument("monitor webhook channel secret: must be a string")
        return WebhookChannel(_url(raw, kind), secret.encode(), policy)
    if kind == "slack":
        return SlackChannel(_url(raw, kind), policy)
    to = raw.get("to")
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list) or not all(isinstance(a, str) for a in to):
        raise InvalidArgument("monitor email channel to: must be a list of addresses")
    if settings.smtp_url is None:
        raise InvalidArgument(
            "monitor email channel: this server has no SMTP server (set KEEL_SMTP_URL)"
        )
    return EmailChannel(tuple(to), SmtpSettings.from_url(settings.smtp_url))


def _url(raw: Mapping[str, Any], kind: str) -> str:
    url = raw.get("url")
    if not isinstance(url, str):
        raise InvalidArgument(f"monitor {kind} channel url: must be a string")
    return url


def parse_channel_option(text: str) -> dict[str, Any]:
    """A channel from the command line: ``webhook=URL,secret=S``, ``slack=URL`` or
    ``email=a@example.com``."""
    kind, sep, rest = text.partition("=")
    if not sep or kind not in _FIELDS:
        raise InvalidArgument(
            f"--channel {text!r}: must be webhook=URL,secret=SECRET, slack=URL or email=ADDRESS"
        )
    if kind == "email":
        return {"kind": "email", "to": [a for a in rest.split(",") if a]}
    if kind == "slack":
        return {"kind": "slack", "url": rest}
    url, sep, secret = rest.partition(",secret=")
    if not sep:
        raise InvalidArgument("--channel webhook=URL,secret=SECRET: a webhook needs a secret")
    return {"kind": "webhook", "url": url, "secret": secret}
