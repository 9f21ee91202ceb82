"""`/metadata` answers a model's input example whatever it is: a numpy array (the demo's
model) as well as a DataFrame."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from keel.models import load_model, save_model
from keel.serving.routes import _example


@pytest.mark.parametrize("kind", ["array", "frame"])
def test_the_example_is_plain_json(tmp_path: Path, kind: str) -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    example = x[:2] if kind == "array" else pd.DataFrame(x[:2], columns=["a", "b", "c"])
    model = LogisticRegression().fit(x, x[:, 0] > 0)
    save_model(model, tmp_path / "m", input_example=example)
    answered = _example(SimpleNamespace(loaded=load_model(tmp_path / "m", trust=True)))
    sent = json.loads(json.dumps(answered))  # the standard encoder: no numpy left inside
    if kind == "array":
        assert sent == {"inputs": x[:2].tolist()}
    else:
        assert sent["records"][0] == pytest.approx(dict(zip("abc", x[0], strict=True)))
