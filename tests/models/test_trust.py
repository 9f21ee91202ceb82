"""Who may load a pickle: the caller who says so, a source under a trusted prefix, or a
registered version whose digest a reviewer approved (never a moving name)."""

from __future__ import annotations

import pytest

from keel.config import Settings
from keel.models.trust import ReviewedVersion, is_trusted, trusted_by_review


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # A models:/ source is never trusted by its name (see trusted_by_review).
        ("models:/fraud", False),
        ("models:/fraud/3", False),
        ("models:/fraud@champion", False),
        ("models:/fraud-copy/1", False),
        ("s3://bucket/team/model", True),
        ("s3://bucket/team-b/model", False),
        ("s3://bucket/team/../other/model", False),
        ("/srv/models/churn", True),
        ("/srv/models-evil/churn", False),
        ("/srv/models/../../etc", False),
        ("", False),
        (None, False),
    ],
)
def test_prefixes_match_whole_segments(source: str | None, expected: bool) -> None:
    trusted = ("models:/fraud", "s3://bucket/team/", "/srv/models")
    assert is_trusted(source, trust=False, trusted_sources=trusted) is expected


def test_trust_true_trusts_anything() -> None:
    assert is_trusted(None, trust=True, trusted_sources=())


def test_settings_read_the_comma_separated_list() -> None:
    env = {"KEEL_TRUSTED_MODEL_SOURCES": " models:/fraud , s3://b/team,, "}
    assert Settings.from_env(env).trusted_model_sources == ("models:/fraud", "s3://b/team")
    assert Settings.from_env({}).trusted_model_sources == ()


DIGEST = "blake3:" + "ab" * 32


def _version(number: int = 3, *, approved: bool, aliases: tuple[str, ...] = ("champion",)):
    return ReviewedVersion("fraud", number, aliases, DIGEST, DIGEST if approved else None)


@pytest.mark.parametrize(
    ("entry", "approved", "expected"),
    [
        # Moving names: trusted only for a digest a reviewer approved.
        ("models:/fraud@champion", True, True),
        ("models:/fraud@champion", False, False),
        ("models:/fraud@staging", True, False),  # names another version
        ("models:/fraud", True, True),
        ("models:/fraud", False, False),
        ("models:/fraud/latest", True, True),
        ("models:/fraud/latest", False, False),
        ("models:/fraud-copy", True, False),
        ("models:/fraud-copy@champion", True, False),
        # Pinned: one version, so one digest (checked on every load).
        ("models:/fraud/3", False, True),
        ("models:/fraud/4", True, False),
        (DIGEST, False, True),
        ("blake3:" + "cd" * 32, True, False),
        ("models:/fraud/x", True, False),
        ("s3://bucket", True, False),
        ("", True, False),
    ],
)
def test_review_trusts_a_digest_not_a_name(entry: str, approved: bool, expected: bool) -> None:
    assert trusted_by_review(_version(approved=approved), (entry,)) is expected


def test_an_approval_of_other_bytes_trusts_nothing() -> None:
    """An approved digest that is not the package's (as verified) is no approval of it."""
    other = ReviewedVersion("fraud", 3, ("champion",), DIGEST, "blake3:" + "cd" * 32)
    assert not trusted_by_review(other, ("models:/fraud@champion",))
