"""Model cards: lineage, signature, checks and reviews, as Markdown and escaped HTML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sklearn.linear_model import LogisticRegression

import keel
from keel.config import Settings
from keel.entities.registry import ModelVersion
from keel.registry.card import CardFacts, render_html, render_markdown
from registry.test_evaluation_gate import COLUMNS, _data


@pytest.fixture
def client(tmp_path: Path) -> Iterator[keel.Client]:
    settings = Settings(home=tmp_path / "home", artifacts_uri=str(tmp_path / "artifacts"))
    with keel.Client(str(tmp_path / "store"), settings=settings) as c:
        yield c


def _version(client: keel.Client, description: str = "") -> ModelVersion:
    frame = _data()
    experiment = client.create_experiment("cards")
    run = client.create_run(
        experiment,
        run_name="train",
        tags={
            "keel.source.git.commit": "abc1234",
            "keel.source.git.dirty": "true",
            "keel.dataset.holdout": "v7",
        },
    )
    client.log_params(run.run_id, {"C": "0.5"})
    client.log_metric(run.run_id, "val_accuracy", 0.91)
    model = LogisticRegression(C=0.5).fit(frame[COLUMNS], frame["label"])
    logged = client.log_model(run.run_id, model, input_example=frame[COLUMNS].head(3))
    return client.registry.register_model(logged.uri, "churn", description=description)


def test_markdown_shows_lineage_signature_checks_and_reviews(client: keel.Client) -> None:
    v = _version(client, description="Churn | weekly")
    registry = client.registry
    registry.record_check("churn", 1, "accuracy", False, {"value": 0.5})
    registry.record_check("churn", 1, "accuracy", True, {"value": 0.93})
    registry.request_promotion("churn", 1, "champion")

    text = registry.card("churn", v.version)
    assert text.startswith("# churn v1")
    assert "Churn \\| weekly" in text  # a pipe cannot break the table
    assert "| C | 0.5 |" in text and "| val_accuracy | 0.91 |" in text
    assert "abc1234 (uncommitted changes)" in text
    assert "| holdout | v7 |" in text
    assert f"runs:/{v.run_id}" in text
    assert "| a | float64 | no |" in text
    assert "| Flavor | sklearn |" in text and "scikit-learn==" in text
    assert "| accuracy | passed |" in text and "FAILED" not in text  # latest result only
    assert "| champion |" in text and "OPEN" in text


def test_missing_lineage_says_not_recorded() -> None:
    facts = CardFacts(ModelVersion("m", 2, "runs:/r1/model", "r1", "blake3:" + "0" * 64))
    text = render_markdown(facts)
    assert "not recorded" in text and "No checks recorded." in text
    assert "No promotion requests." in text


def test_html_escapes_every_value(client: keel.Client) -> None:
    _version(client, description='<script>alert("x")</script> & more')
    page = client.registry.card("churn", 1, fmt="html")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in page
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    # Markdown escapes HTML too, so a renderer passing raw HTML through is safe.
    assert "<script>" not in client.registry.card("churn", 1)
    facts = CardFacts(ModelVersion("m<b>", 1, "runs:/r/model", "r", "blake3:" + "0" * 64))
    assert "m&lt;b&gt; v1" in render_html(facts)


HOSTILE_DESCRIPTIONS = [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert`1`)",
    "[click]( javascript:alert(1) )",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox)",
    "![pixel](https://tracker.example/p.png)",
    "![pixel](//tracker.example/p.png)",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "[x][1] [1]: data:text/html,hi",
    "<a href='javascript:alert(1)'>x</a><img src=https://tracker.example/p.png>",
]


@pytest.mark.parametrize("description", HOSTILE_DESCRIPTIONS)
def test_markdown_cards_neutralise_script_links_and_remote_images(description: str) -> None:
    """Rendered by a real CommonMark renderer (markdown-it, as Rich uses), a card has no
    link but to http(s)/mailto and no image at all."""
    from markdown_it import MarkdownIt

    version = ModelVersion("m", 1, "runs:/r/model", "r", "blake3:" + "0" * 64)
    facts = CardFacts(ModelVersion(**{**_fields(version), "description": description}))
    page = MarkdownIt("commonmark").enable("table").render(render_markdown(facts)).lower()
    assert "<img" not in page and "<a " not in page, page
    safe = "[docs](https://example.com/docs?a=1&b=2) and [mail](mailto:ml@example.com)"
    facts = CardFacts(ModelVersion(**{**_fields(version), "description": safe}))
    page = MarkdownIt("commonmark").render(render_markdown(facts))
    assert '<a href="https://example.com/docs?a=1&amp;b=2">docs</a>' in page
    assert '<a href="mailto:ml@example.com">mail</a>' in page


def _fields(version: ModelVersion) -> dict[str, object]:
    from dataclasses import fields

    return {f.name: getattr(version, f.name) for f in fields(version)}
