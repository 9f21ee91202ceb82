"""Who may load a pickle: the caller who says so, or a source under a trusted prefix."""

from __future__ import annotations

import pytest

from keel.config import Settings
from keel.models.trust import is_trusted


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("models:/fraud", True),
        ("models:/fraud/3", True),
        ("models:/fraud@champion", True),
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
