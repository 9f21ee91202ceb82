"""Models logged to runs and loaded back by URI, on every store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import keel
import keel.models as keel_models
from conftest import unique
from keel.errors import Forbidden, InvalidArgument


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"age": rng.integers(18, 90, 60), "spend": rng.normal(50, 10, 60)})
    return x, (x["spend"] > 50).to_numpy().astype(int)


def test_log_and_load_by_run_uri(tracking: str) -> None:
    x, y = _data()
    model = LogisticRegression().fit(x, y)
    keel.set_experiment(unique())
    with keel.start_run():
        logged = keel.log_model(model, name="model", input_example=x.head(5))
    keel.flush()
    assert logged.uri == f"runs:/{logged.run_id}/model"
    assert logged.manifest.flavor == "sklearn"
    files = {f.path for f in keel.Client(tracking).list_artifacts(logged.run_id, "model")}
    assert "model/keel-model.json" in files

    loaded = keel.load_model(logged.uri)
    assert (loaded.predict(x) == model.predict(x)).all()
    assert (loaded.predict(x.to_dict("records")) == model.predict(x)).all()


def test_pickled_model_needs_trust(tracking: str) -> None:
    x, y = _data()
    keel.set_experiment(unique())
    with keel.start_run():
        logged = keel.log_model(LogisticRegression().fit(x, y), serialization="pickle")
    keel.flush()
    with pytest.raises(Forbidden, match="trust"):
        keel.load_model(logged.uri)
    assert len(keel.load_model(logged.uri, trust=True).predict(x)) == len(x)


def test_bad_model_uris_are_refused(tracking: str) -> None:
    for bad in ("file:///etc/passwd", "model", "runs:/nothex/model"):
        with pytest.raises(InvalidArgument):
            keel.load_model(bad)


def test_register_and_load_by_alias(tracking: str, reader, tmp_path) -> None:
    from keel.config import Settings
    from keel.errors import Forbidden, NotFound

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    keel.set_experiment(unique())
    with keel.start_run():
        logged = keel.log_model(model, input_example=x.head(3))
    name = unique("fraud")
    v1 = keel.register_model(logged, name)
    assert (v1.version, v1.status) == (1, "PENDING_REVIEW")
    assert v1.content_hash.startswith("blake3:") and v1.signature
    registry = reader().registry

    with pytest.raises(NotFound):
        keel.load_model(f"models:/{name}@champion")
    registry.set_alias(name, "challenger", 1)
    loaded = keel_models.load(f"models:/{name}@challenger")
    assert (loaded.predict(x) == model.predict(x)).all()
    assert (keel.load_model(f"models:/{name}/1").predict(x) == model.predict(x)).all()

    # A guarded alias moves only after the required checks pass, and by review.
    registry.set_alias_policy(name, "champion", ["accuracy"])
    with pytest.raises(Forbidden, match="request a promotion"):
        registry.set_alias(name, "champion", 1)
    registry.record_check(name, 1, "accuracy", True, {"accuracy": 0.93})
    request = registry.request_promotion(name, 1, "champion")
    with pytest.raises(Forbidden):
        registry.approve(request.id)  # the requester cannot approve their own request
    settings = Settings(
        home=tmp_path / "reviewer", artifacts_uri=str(tmp_path / "artifacts"), user="reviewer"
    )
    with keel.Client(tracking, settings=settings) as reviewer:
        decided = reviewer.registry.approve(request.id, "checks passed")
    assert (decided.state, decided.reviewer) == ("APPROVED", "reviewer")
    assert registry.get_model_version(name, 1).status == "APPROVED"
    assert (keel.load_model(f"models:/{name}@champion").predict(x) == model.predict(x)).all()

    records = registry.list_audit(name).records
    actions = {r.action.value for r in records}
    assert {
        "model.create", "version.create", "alias.set", "alias_policy.set",
        "check.record", "promotion.request", "promotion.approve",
    } <= actions  # fmt: skip
    assert {r.actor for r in records if r.action.value == "promotion.approve"} == {"reviewer"}


def test_a_registered_model_cannot_be_changed_afterwards(tracking: str, reader) -> None:
    from keel.errors import Conflict

    x, y = _data()
    keel.set_experiment(unique())
    with keel.start_run():
        logged = keel.log_model(LogisticRegression().fit(x, y))
    name = unique("m")
    keel.register_model(logged, name)
    client = reader()
    before = client.load_model(f"models:/{name}/1").predict(x)
    # Re-logging to the same path of the resumed run would replace the registered
    # package: refused, and the version still loads what was registered.
    with pytest.raises(Conflict, match="immutable"), keel.start_run(run_id=logged.run_id):
        keel.log_model(LogisticRegression(C=0.5).fit(x, y), metadata={"changed": True})
    keel.flush()
    assert (client.load_model(f"models:/{name}/1").predict(x) == before).all()
