"""Alert channels against real receivers on loopback: an HTTP server and an SMTP server
(aiosmtpd), and the SSRF guard every outbound request passes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

import pytest

from keel.errors import Forbidden, InvalidArgument
from keel.monitoring.alert_state import Notification
from keel.monitoring.channels import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    EmailChannel,
    SlackChannel,
    SmtpSettings,
    WebhookChannel,
)
from keel.monitoring.outbound import DeliveryFailed, OutboundPolicy, post
from monitoring.receivers import SECRET, Receiver

LOOPBACK = OutboundPolicy(
    allowed_hosts=("127.0.0.1", "hooks.test"), allowed_networks=("127.0.0.1/32",)
)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _notification(status: str = "firing") -> Notification:
    return Notification(
        monitor="fraud-drift",
        rule="share",
        condition="dataset.share >= 0.5",
        status=status,
        severity="critical",
        dedup_key="fraud-drift/share/1",
        fired_at_ms=1,
        time_ms=2,
        details={"dataset": {"share": 0.6}},
    )


@pytest.mark.parametrize(
    ("url", "error", "words"),
    [
        ("ftp://127.0.0.1/x", InvalidArgument, "scheme must be http or https"),
        ("http://user:pw@127.0.0.1/x", InvalidArgument, "user name or password"),
        ("http:///x", InvalidArgument, "has no host"),
        ("http://127.0.0.1/a b", InvalidArgument, "spaces or control characters"),
        ("http://127.0.0.1:99999/x", InvalidArgument, "port must be 1 to 65535"),
        (
            "http://evil.example/x",
            Forbidden,
            r"allow-list; list it in KEEL_ALERT_ALLOWED_HOSTS \(e.g. \w+=evil\.example\)",
        ),
        ("http://169.254.169.254/latest/meta-data", Forbidden, "not on the allow-list"),
    ],
)
def test_urls_are_checked_before_any_lookup(url: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        LOOPBACK.check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",  # a name that resolves to loopback
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",  # IPv4 loopback written as IPv6
        "http://169.254.169.254/x",  # the cloud metadata address
        "http://10.0.0.5/x",
        "http://0.0.0.0/x",
    ],
)
def test_private_loopback_and_link_local_addresses_are_refused(url: str) -> None:
    policy = OutboundPolicy(allowed_hosts=("*",))
    with pytest.raises(Forbidden, match="private, loopback, link-local or reserved"):
        policy.resolve(url)


def test_a_name_with_one_private_answer_among_public_ones_is_refused() -> None:
    policy = OutboundPolicy(allowed_hosts=("hooks.test",))

    def rebinding(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with pytest.raises(Forbidden, match=r"resolves to 127\.0\.0\.1"):
        policy.resolve("http://hooks.test/x", rebinding)


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
    receiver: Receiver,
) -> None:
    # hooks.test exists in no DNS: the delivery can only succeed by connecting to the
    # address the resolver gave when the URL was checked.
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    delivery = post(
        LOOPBACK, f"http://hooks.test:{receiver.port}/hook", b"{}", {}, resolver=resolver
    )
    assert delivery.status == 200 and lookups == ["hooks.test"]
    headers, _ = receiver.requests[0]
    assert headers["Host"] == f"hooks.test:{receiver.port}"


def test_an_allowed_network_lets_an_intranet_receiver_in(receiver: Receiver) -> None:
    refused = OutboundPolicy(allowed_hosts=("127.0.0.1",))
    with pytest.raises(Forbidden):
        post(refused, receiver.url, b"{}", {})
    assert receiver.requests == []
    assert post(LOOPBACK, receiver.url, b"{}", {}).status == 200


def test_redirects_are_never_followed() -> None:
    inner = Receiver()
    outer = Receiver(status=302, location=inner.url)
    try:
        with pytest.raises(DeliveryFailed, match="redirects are never followed"):
            post(LOOPBACK, outer.url, b"{}", {})
        assert len(outer.requests) == 1 and inner.requests == []
    finally:
        inner.close()
        outer.close()


def test_an_error_answer_is_a_failed_delivery() -> None:
    failing = Receiver(status=500)
    try:
        with pytest.raises(DeliveryFailed, match="answered 500"):
            post(LOOPBACK, failing.url, b"{}", {})
    finally:
        failing.close()


def test_webhook_body_is_signed_with_hmac(receiver: Receiver) -> None:
    WebhookChannel(receiver.url, SECRET, LOOPBACK).send(_notification())
    headers, body = receiver.requests[0]
    stamp = headers[TIMESTAMP_HEADER]
    expected = hmac.new(SECRET, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert b'"status":"firing"' in body and b'"monitor":"fraud-drift"' in body
    forged = hmac.new(b"another-secret-0000", f"{stamp}.".encode() + body, hashlib.sha256)
    assert headers[SIGNATURE_HEADER] != f"sha256={forged.hexdigest()}"


def test_webhook_refuses_a_short_secret_and_a_bad_url() -> None:
    with pytest.raises(InvalidArgument, match="at least 16 bytes"):
        WebhookChannel("http://127.0.0.1/x", b"short", LOOPBACK)
    with pytest.raises(Forbidden, match="allow-list"):
        WebhookChannel("http://evil.example/x", SECRET, LOOPBACK)


def test_slack_gets_one_line_of_text(receiver: Receiver) -> None:
    SlackChannel(receiver.url, LOOPBACK).send(_notification("resolved"))
    _, body = receiver.requests[0]
    assert body == b'{"text":"[CRITICAL] fraud-drift: share resolved: dataset.share >= 0.5"}'


def test_email_is_delivered_over_smtp() -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    received = []

    class Keep(Message):
        def handle_message(self, message: object) -> None:
            received.append(message)

    port = _free_port()
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = SmtpSettings.from_url(f"smtp://127.0.0.1:{port}?from=keel@example.com")
        EmailChannel(("oncall@example.com",), smtp).send(_notification())
    finally:
        controller.stop()
    (message,) = received
    assert message["To"] == "oncall@example.com"
    assert message["Subject"] == "[CRITICAL] fraud-drift: share firing: dataset.share >= 0.5"
    assert "dedup key: fraud-drift/share/1" in message.get_payload()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_email_refuses_header_injection_and_bad_settings() -> None:
    smtp = SmtpSettings.from_url("smtp://127.0.0.1:2525?from=keel@example.com")
    with pytest.raises(InvalidArgument, match="not one address"):
        EmailChannel(("a@example.com\r\nBcc: all@example.com",), smtp)
    with pytest.raises(InvalidArgument, match="from="):
        SmtpSettings.from_url("smtp://127.0.0.1:2525")
    with pytest.raises(InvalidArgument, match="scheme must be smtp"):
        SmtpSettings.from_url("http://127.0.0.1")


def test_smtp_down_is_a_failed_delivery() -> None:
    smtp = SmtpSettings.from_url("smtp://127.0.0.1:9?from=keel@example.com")
    with pytest.raises(DeliveryFailed, match=r"SMTP 127\.0\.0\.1:9"):
        EmailChannel(("oncall@example.com",), smtp).send(_notification())


def test_the_policy_comes_from_settings() -> None:
    from keel.config import Settings

    settings = Settings.from_env(
        {
            "KEEL_HOME": "/tmp/keel-alert-settings",
            "KEEL_ALERT_ALLOWED_HOSTS": "hooks.slack.com, *.example.com, 10.1.2.3",
            "KEEL_ALERT_ALLOWED_NETWORKS": "10.1.2.0/24",
        }
    )
    policy = OutboundPolicy.from_settings(settings)
    policy.check_url("https://hooks.slack.com/services/T/B/X")
    policy.check_url("https://alerts.example.com/in")
    with pytest.raises(Forbidden):
        policy.check_url("https://example.org/in")
    assert policy.resolve("http://10.1.2.3:8080/x").address == "10.1.2.3"
    with pytest.raises(InvalidArgument, match="is not a network"):
        OutboundPolicy(allowed_networks=("ten-dot",))
