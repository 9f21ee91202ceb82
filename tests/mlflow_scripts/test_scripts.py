"""The 18 MLflow-idiom scripts in ``scripts/`` (each written as an MLflow user writes
MLflow's examples, with only ``mlflow`` replaced by ``keel``) run in a fresh Python
process, from an empty working folder, against a fresh embedded store, and the four that
matter most for a team (quickstart, registry walk-through, nested search, pyfunc) against
a real ``keel server`` too. A separate ``keel.Client`` then reads back what each logged.

Keel differs from MLflow on purpose in one place these scripts reach: a pickled model
(a ``PythonModel``, cloudpickled) loads only from a trusted source. The scripts keep the
MLflow line (``keel.pyfunc.load_model(model_info.model_uri)``) and their environment sets
``KEEL_TRUSTED_MODEL_SOURCES``, as a team that trusts its own store would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tokenize
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from token import NAME

import numpy as np
import pandas as pd
import pytest

import keel
from conftest import ServerProcess
from keel.config import Settings
from keel.entities import Run

SCRIPTS = Path(__file__).parent / "scripts"
SRC = Path(keel.__file__).resolve().parents[1]
TIMEOUT = 180  # seconds for one script; each takes a few on an idle machine
WORKERS = max(2, min(4, os.cpu_count() or 2))


@dataclass(frozen=True)
class Store:
    """Where a script logs, and a client that reads it back."""

    uri: str
    home: Path
    work: Path
    remote: bool

    def client(self) -> keel.Client:
        return keel.Client(self.uri, settings=Settings.from_env({"KEEL_HOME": str(self.home)}))


Check = Callable[[keel.Client, Store], None]


@dataclass(frozen=True)
class Script:
    name: str
    check: Check
    trusted: tuple[str, ...] = ()
    """KEEL_TRUSTED_MODEL_SOURCES for the script: the pickled models it loads."""
    args: tuple[str, ...] = field(default=())


def run(script: Script, store: Store) -> subprocess.CompletedProcess[str]:
    """Run ``script`` in a fresh interpreter from an empty folder, logging to ``store``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KEEL_", "PYTHON"))}
    env |= {
        "KEEL_HOME": str(store.home),
        "KEEL_FLUSH_INTERVAL": "0.2",
        "PYTHONPATH": str(SRC),  # this checkout's keel, as the test process has it
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",  # side by side, a library's thread pool would oversubscribe
    }
    if store.remote:
        env["KEEL_TRACKING_URI"] = store.uri
    if script.trusted:
        env["KEEL_TRUSTED_MODEL_SOURCES"] = ",".join(script.trusted)
    store.work.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, str(SCRIPTS / script.name), *script.args],
        cwd=store.work,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


# what each script leaves behind -------------------------------------------------------


def runs(client: keel.Client, experiment: str = "Default", where: str = "") -> list[Run]:
    return list(client.search_runs(experiment_names=[experiment], filter_string=where))


def only_run(client: keel.Client, experiment: str = "Default", where: str = "") -> Run:
    found = runs(client, experiment, where)
    assert len(found) == 1, [r.info.run_name for r in found]
    return found[0]


def artifact_paths(client: keel.Client, run_id: str, path: str | None = None) -> set[str]:
    out: set[str] = set()
    for info in client.list_artifacts(run_id, path):
        out |= artifact_paths(client, run_id, info.path) if info.is_dir else {info.path}
    return out


def check_quickstart(client: keel.Client, store: Store) -> None:
    run = only_run(client, "MLflow Quickstart")
    assert run.data.params["solver"] == "lbfgs" and run.data.params["max_iter"] == "1000"
    assert run.data.metrics["accuracy"] > 0.9
    assert run.data.tags["Training Info"] == "Basic LR model for iris data"
    assert "iris_model/keel-model.json" in artifact_paths(client, run.info.run_id)
    version = client.get_model_version("tracking-quickstart", 1)
    assert version.run_id == run.info.run_id and version.source.endswith("/iris_model")
    assert version.signature is not None


def check_elasticnet(client: keel.Client, store: Store) -> None:
    run = only_run(client)
    assert (run.data.params["alpha"], run.data.params["l1_ratio"]) == ("0.3", "0.7")
    assert {"rmse", "r2", "mae"} <= set(run.data.metrics)
    assert client.get_model_version("ElasticnetDiabetesModel", 1).run_id == run.info.run_id
    (used,) = client.data.store.run_inputs(run.info.run_id)
    assert (used.name, used.version, used.context) == ("diabetes", 1, "training")


def check_sklearn_autolog(client: keel.Client, store: Store) -> None:
    run = only_run(client)
    assert run.data.params["n_estimators"] == "10" and run.data.params["max_depth"] == "4"
    assert {"training_r2_score", "training_mean_squared_error"} <= set(run.data.metrics)
    assert "model/keel-model.json" in artifact_paths(client, run.info.run_id)


def check_grid_search(client: keel.Client, store: Store) -> None:
    everything = runs(client)
    (parent,) = [r for r in everything if "mlflow.parentRunId" not in r.data.tags]
    children = runs(client, where=f"parent_run_id = '{parent.info.run_id}'")
    assert len(everything) == 5
    assert len(children) == 4
    assert {(r.data.params["kernel"], r.data.params["C"]) for r in children} == {
        ("linear", "1"), ("linear", "10"), ("rbf", "1"), ("rbf", "10"),
    }  # fmt: skip
    assert "best_cv_score" in parent.data.metrics
    assert "cv_results.csv" in artifact_paths(client, parent.info.run_id)


def check_column_transformer(client: keel.Client, store: Store) -> None:
    parent = only_run(client, "titanic-like", "attributes.run_name = 'column-transformer-search'")
    assert parent.data.params["best_classifier__C"] in {"0.1", "1.0", "10"}
    assert 0.5 < parent.data.metrics["test_accuracy"] <= 1.0
    children = runs(client, "titanic-like", f"parent_run_id = '{parent.info.run_id}'")
    assert len(children) == 5
    for child in children:  # the pipeline's nested params, as the search set them
        assert child.data.params["preprocessor__num__imputer__strategy"] in {"mean", "median"}
        assert child.data.params["preprocessor__cat__encoder__handle_unknown"] == "ignore"


def check_xgboost_native(client: keel.Client, store: Store) -> None:
    run = only_run(client)
    history = client.get_metric_history(run.info.run_id, "train-mlogloss")
    assert [p.step for p in history] == list(range(20))
    assert history[-1].value < history[0].value
    assert {"log_loss", "accuracy"} <= set(run.data.metrics)
    assert run.data.params["learning_rate"] == "0.25"  # from the command line


def check_xgboost_sklearn(client: keel.Client, store: Store) -> None:
    run = only_run(client)
    assert len(client.get_metric_history(run.info.run_id, "validation_0-rmse")) == 20
    paths = artifact_paths(client, run.info.run_id)
    assert {"regressor/keel-model.json", "model/keel-model.json"} <= paths
    assert "test_mse" in run.data.metrics


def check_lightgbm_native(client: keel.Client, store: Store) -> None:
    run = only_run(client)
    assert len(client.get_metric_history(run.info.run_id, "train-multi_logloss")) == 10
    assert run.data.metrics["accuracy"] > 0.8


def check_lightgbm_sklearn(client: keel.Client, store: Store) -> None:
    classifier = only_run(client, where="metrics.f1_macro > 0")
    assert classifier.data.params["n_estimators"] == "20"
    version = client.get_model_version("lgbm-diabetes", 1)
    assert client.get_run(version.run_id).info.run_name == "lgbm-regressor"


def _frame(values: list[list[float]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(values, columns=columns)


def check_pyfunc_artifacts(client: keel.Client, store: Store) -> None:
    version = client.get_model_version("xgb-wrapper", 1)
    paths = artifact_paths(client, version.run_id)
    assert any(p.endswith("xgb_model.json") for p in paths), paths
    # Loaded here, in another process than the one that defined the class.
    model = client.load_model("models:/xgb-wrapper/1", trust=True)
    out = model.predict(_frame([[1.4, 0.2], [5.5, 2.1]], ["petal_length", "petal_width"]))
    assert len(out) == 2


def check_pyfunc_code_paths(client: keel.Client, store: Store) -> None:
    assert "spam_rules" not in sys.modules
    model = client.load_model("models:/spam-filter/1", trust=True)
    out = model.predict(pd.DataFrame({"text": ["you are a winner, click now", "hi"]}))
    assert list(out["spam"]) == [True, False]


def check_pytorch(client: keel.Client, store: Store) -> None:
    run = only_run(client, "pytorch-quickstart")
    assert len(client.get_metric_history(run.info.run_id, "loss")) == 5
    assert run.data.params["optimizer"] == "Adam"
    assert "model/keel-model.json" in artifact_paths(client, run.info.run_id)


def check_onnx(client: keel.Client, store: Store) -> None:
    run = only_run(client)
    model = client.load_model(f"runs:/{run.info.run_id}/model")  # ONNX: no trust needed
    out = model.predict(np.array([[5.1, 3.5, 1.4, 0.2]], dtype=np.float32))
    assert list(out["label"]) == [0] and out["probabilities"].shape == (1, 3)


def check_registry(client: keel.Client, store: Store) -> None:
    name = "sk-learn-random-forest-reg-model"
    model = client.get_registered_model(name)
    assert model.description.startswith("This model forecasts")
    assert model.tags == {"task": "regression"} and model.aliases == {}
    v1, v2 = client.get_model_version(name, 1), client.get_model_version(name, 2)
    assert v1.description == "A shallow forest: the baseline." and v1.tags == {}
    assert v2.tags == {"validation_status": "pending"}
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == [2, 1]


def check_hyperparameter_search(client: keel.Client, store: Store) -> None:
    experiment = "diabetes-hyperparameter-search"
    parent = only_run(client, experiment, "attributes.run_name = 'gbr-search'")
    children = runs(client, experiment, f"parent_run_id = '{parent.info.run_id}'")
    assert len(children) == 4
    best = min(children, key=lambda r: r.data.metrics["rmse"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.metrics["best_rmse"] == best.data.metrics["rmse"]
    assert parent.data.tags["mlflow.note.content"].startswith("Gradient boosting")
    found = client.get_experiment_by_name(experiment)
    assert found is not None and found.tags == {"project": "diabetes", "owner": "ml-team"}
    registered = client.get_latest_versions("diabetes-gbr")
    assert [v.run_id for v in registered] == [best.info.run_id]


def check_client_tracking(client: keel.Client, store: Store) -> None:
    experiment = client.get_experiment_by_name("client-api-demo")
    assert experiment is not None and experiment.tags["team"] == "ml"
    first = only_run(client, "client-api-demo", "attributes.run_name = 'batch-logging'")
    second = only_run(client, "client-api-demo", "attributes.run_name = 'second'")
    assert (first.info.status, second.info.status) == ("FINISHED", "FAILED")
    assert len(client.get_metric_history(first.info.run_id, "loss")) == 50
    assert first.data.params == {"alpha": "0.1", "optimizer": "sgd", "batch_size": "32"}
    assert first.data.tags["framework"] == "numpy" and first.data.tags["stage"] == "dev"
    assert artifact_paths(client, first.info.run_id) == {
        "notes/summary.txt", "config/model.json",
    }  # fmt: skip


def check_artifacts(client: keel.Client, store: Store) -> None:
    run = only_run(client, "artifacts-demo")
    assert artifact_paths(client, run.info.run_id) == {
        "plots/actual_vs_predicted.png", "config.json", "config.yaml", "notes.txt",
        "coefficients.json", "report.md", "extras/a.txt", "extras/b.txt",
    }  # fmt: skip


def check_system_metrics(client: keel.Client, store: Store) -> None:
    monitored, quiet = sorted(runs(client, "system-metrics"), key=lambda r: r.info.start_time)
    cpu = client.get_metric_history(monitored.info.run_id, "system/cpu_utilization_percentage")
    assert len(cpu) >= 1  # 1.5 s sampled every 0.5 s (a busy machine may give fewer)
    assert not any(k.startswith("system/") for k in quiet.data.metrics)


SCRIPT_LIST = [
    Script("01_quickstart.py", check_quickstart),
    Script("02_sklearn_elasticnet.py", check_elasticnet, args=("0.3", "0.7")),
    Script("03_sklearn_autolog.py", check_sklearn_autolog),
    Script("04_gridsearch_autolog.py", check_grid_search),
    Script("05_gallery_column_transformer.py", check_column_transformer),
    Script("06_xgboost_native.py", check_xgboost_native, args=("--learning-rate", "0.25")),
    Script("07_xgboost_sklearn.py", check_xgboost_sklearn),
    Script("08_lightgbm_native.py", check_lightgbm_native),
    Script("09_lightgbm_sklearn.py", check_lightgbm_sklearn),
    # model_info.model_uri is runs:/<run id>/...: the script's runs are trusted.
    Script("10_pyfunc_artifacts.py", check_pyfunc_artifacts, trusted=("runs:/",)),
    Script(
        "11_pyfunc_code_paths.py",
        check_pyfunc_code_paths,
        # The script loads both addresses. A models:/ entry trusts only what it pins (a
        # version or digest), or versions approved by review: this one pins version 1.
        trusted=("runs:/", "models:/spam-filter/1"),
    ),
    Script("12_pytorch.py", check_pytorch),
    Script("13_onnx.py", check_onnx),
    # Tree ensembles whose ONNX copy is not faithful (regressors: float32 thresholds) load
    # their skops file, whose trees skops calls unsafe from an untrusted file.
    Script(
        "14_registry_walkthrough.py",
        check_registry,
        trusted=(
            "models:/sk-learn-random-forest-reg-model/1",
            "models:/sk-learn-random-forest-reg-model/2",
        ),
    ),
    Script(
        "15_hyperparam_nested.py", check_hyperparameter_search, trusted=("models:/diabetes-gbr/1",)
    ),
    Script("16_client_tracking.py", check_client_tracking),
    Script("17_artifacts_figures.py", check_artifacts),
    Script("18_system_metrics.py", check_system_metrics),
]  # fmt: skip
SCRIPTS_BY_NAME = {s.name: s for s in SCRIPT_LIST}
ON_A_SERVER = [
    "01_quickstart.py",
    "10_pyfunc_artifacts.py",
    "14_registry_walkthrough.py",
    "15_hyperparam_nested.py",
]


def test_every_script_in_the_folder_is_run_and_says_keel_only() -> None:
    on_disk = sorted(p.name for p in SCRIPTS.glob("*.py"))
    assert on_disk == [s.name for s in SCRIPT_LIST] and len(on_disk) == 18
    for path in SCRIPTS.glob("*.py"):
        with path.open("rb") as source:  # names in the code, not in comments or strings
            names = {t.string for t in tokenize.tokenize(source.readline) if t.type == NAME}
        assert not names & {"mlflow", "MlflowClient"}, f"{path.name}: MLflow's names left"
        assert path.read_text().startswith('"""Mirrors '), f"{path.name}: say what it mirrors"


@dataclass
class Launched:
    """A script started in the background, and the store it logs to."""

    store: Store
    done: Future[subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def launched(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[tuple[str, str], Launched]]:
    """Every selected script, started at once, a few at a time: each is its own fresh
    interpreter, so they run side by side; a test waits for its own."""
    wanted = [
        (item.callspec.params["where"], item.callspec.params["name"])
        for item in request.session.items
        if isinstance(item, pytest.Function)
        and item.originalname == "test_script"
        and item.module is request.module
    ]
    server: ServerProcess | None = None
    if any(where == "server" for where, _ in wanted):
        server = request.getfixturevalue("server")
    root = tmp_path_factory.mktemp("scripts")
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    started: dict[tuple[str, str], Launched] = {}
    for where, name in wanted:
        folder = root / where / name.removesuffix(".py")
        uri = server.url if where == "server" and server is not None else str(folder / "home")
        store = Store(uri, folder / "home", folder / "work", remote=where == "server")
        started[where, name] = Launched(store, pool.submit(run, SCRIPTS_BY_NAME[name], store))
    try:
        yield started
    finally:
        pool.shutdown(cancel_futures=True)


CASES = [("embedded", s.name) for s in SCRIPT_LIST] + [("server", n) for n in ON_A_SERVER]


@pytest.mark.parametrize(("where", "name"), CASES, ids=[f"{w}-{n[:-3]}" for w, n in CASES])
def test_script(where: str, name: str, launched: dict[tuple[str, str], Launched]) -> None:
    script, started = SCRIPTS_BY_NAME[name], launched[where, name]
    done = started.done.result(timeout=TIMEOUT * 3)
    assert done.returncode == 0, (
        f"{name} exited {done.returncode}\n--- stdout\n{done.stdout[-3000:]}"
        f"\n--- stderr\n{done.stderr[-5000:]}"
    )
    client = started.store.client()
    try:
        script.check(client, started.store)
    finally:
        client.close()
