"""The API fuzzed from its own OpenAPI document (schemathesis) against a real
``keel server``: no request, however odd, may answer 5xx, every answer must match the
status codes, content type and body schema the document declares for it, and a request
the document calls invalid must be refused.

Two servers are fuzzed: an open one (loopback, no users) and one with an admin user whose
bearer token every request carries, so the authenticated paths run too. Each is seeded
first (an experiment, a run with a param, a metric and an artifact, a registered model
with a version, an alias, a promotion request, a deployment with a canary, a dataset of
two files, a deployment's prediction-log and feedback files, and a monitor over them) and
a third of the cases use those ids in their paths, so routes get past "no such run" to the
code behind it.

Bounded and deterministic for CI: ``derandomize`` fixes the examples, ``KEEL_FUZZ_EXAMPLES``
(default 8) the number per operation and mode; raise it, or set ``KEEL_FUZZ_SEED`` for
other cases, to dig deeper locally. Every failing operation is reported at once, with
the request that broke it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

import hypothesis  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.core.failures import FailureGroup  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from access.conftest import AuthServer, create_user  # noqa: E402
from conftest import ServerProcess, unique  # noqa: E402
from registry.support import MANIFEST  # noqa: E402
from server.support import API, log_problems, new_id  # noqa: E402

EXAMPLES = int(os.environ.get("KEEL_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("KEEL_FUZZ_SEED")
"""Unset (CI): the same cases every run. Set: other cases, the same for the same seed."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,  # what the document says is invalid is refused (4xx)
]
ALIAS = "staging"


@dataclass
class Target:
    """A seeded server to fuzz: its URL, the headers every request carries and the real
    value of each path parameter the seed made."""

    server: ServerProcess
    headers: dict[str, str]
    ids: dict[str, Any]
    dataset_ids: dict[str, Any]
    """For the dataset routes, where ``name``, ``version`` and ``digest`` are a dataset's."""
    log_ids: dict[str, Any]
    """For the prediction-log routes (``name`` is a log file's) and the monitor routes
    (``monitor`` is the name of the seeded monitor)."""

    def seeded(self, path: str) -> dict[str, Any]:
        """The real value of each path parameter of the operation at ``path``."""
        if "/dataset" in path:
            return {**self.ids, **self.dataset_ids}
        if "/predictions" in path:
            return {**self.ids, **self.log_ids}
        if "/monitors" in path:
            return {**self.ids, "name": self.log_ids["monitor"]}
        if "/deployments" in path:
            return {**self.ids, "name": self.ids["deployment"]}
        return self.ids


def seed_dataset(url: str, token: str | None, root: Path) -> dict[str, Any]:
    """A dataset of two files, added through the server by the client, as users do."""
    from keel.client import Client
    from keel.config import Settings

    files = root / "dataset"
    files.mkdir()
    (files / "a.csv").write_text("x,y\n1,2\n")
    (files / "b.txt").write_text("hello")
    with Client(url, token=token, settings=Settings(home=root / "home")) as client:
        added = client.data.add(files, name=unique("fuzz-data")).version
    return {"name": added.name, "version": str(added.version), "digest": added.digest}


def seed_log(url: str, headers: dict[str, str], deployment: str) -> dict[str, Any]:
    """A deployment's prediction-log and feedback files, sent as a model server's writer
    sends them, and a monitor comparing its latest hour with an earlier one."""
    import time

    import pyarrow as pa

    from keel.predictions.tables import parquet_bytes, prediction_tables
    from predictions.support import batch

    now = int(time.time() * 1000)
    earlier, recent = (
        batch(8, deployment=deployment, time_ms=now - 3 * 3_600_000),
        batch(8, deployment=deployment, time_ms=now - 60_000),
    )
    labels = pa.table(
        {
            "prediction_id": list(recent.ids),
            "time": pa.array([now] * 8, pa.timestamp("ms", "UTC")),
            "deployment": [deployment] * 8,
            "label": pa.array([1.0] * 8),
        }
    )
    logs = f"{API}/predictions/deployments/{deployment}"
    with httpx.Client(base_url=url, headers=headers, timeout=30) as api:
        for i, made in enumerate((earlier, recent), start=1):
            body = parquet_bytes(prediction_tables([made])[0])
            r = api.put(f"{logs}/files/0123456789ab-00000{i}", content=body)
            assert r.status_code == 201, r.text
        r = api.put(f"{logs}/feedback/0123456789ab-000003", content=parquet_bytes(labels))
        assert r.status_code == 201, r.text
        start = earlier.time_ms - earlier.time_ms % 3_600_000
        monitor = {
            "name": "fuzz-monitor",
            "deployment": deployment,
            "reference": f"window:{start}/{start + 3_600_000}",
            "every": "1h",
            "rules": [{"name": "drift", "condition": "dataset.drifted"}],
        }
        r = api.post(f"{API}/monitors", json=monitor)
        assert r.status_code == 201, r.text
        r = api.post(f"{API}/monitors/fuzz-monitor/run")
        assert r.status_code == 200, r.text
    return {
        "deployment": deployment,
        "name": "0123456789ab-000009",
        "prediction_id": recent.ids[0],
        "monitor": "fuzz-monitor",
    }


def seed(url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Real resources for the fuzzer's paths; returns ``{path parameter: value}``."""
    with httpx.Client(base_url=url, headers=headers, timeout=30) as api:

        def ok(r: httpx.Response) -> dict[str, Any]:
            assert r.is_success, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
            return r.json() if r.content else {}

        exp = ok(api.post(f"{API}/experiments", json={"name": unique("fuzz")}))["experiment_id"]
        run = ok(api.post(f"{API}/runs", json={"experiment_id": exp, "run_name": "r"}))
        run_id = run["info"]["run_id"]
        batch = {
            "batch_id": new_id(),
            "runs": [
                {
                    "run_id": run_id,
                    "params": {"lr": "0.1"},
                    "metrics": {"keys": ["loss"], "values": [0.5], "timestamps": [1], "steps": [0]},
                }
            ],
        }
        ok(api.post(f"{API}/writes", json=batch))
        ok(
            api.put(
                f"{API}/runs/{run_id}/artifacts/content",
                params={"path": "model/keel-model.json"},
                content=MANIFEST,
            )
        )
        models = f"{API}/registered-models"
        model = ok(api.post(models, json={"name": unique("fuzz-model")}))["name"]
        source = f"runs:/{run_id}/model"
        version = ok(api.post(f"{models}/{model}/versions", json={"source": source}))["version"]
        ok(api.put(f"{models}/{model}/aliases/{ALIAS}", json={"version": version}))
        request = ok(
            api.post(
                f"{models}/{model}/promotion-requests", json={"version": version, "alias": "prod"}
            )
        )
        # A 90/10 canary over the version and its alias, so promote and rollback have work.
        canary = [
            {"model_uri": f"models:/{model}/{version}", "weight": 90},
            {"model_uri": f"models:/{model}@{ALIAS}", "weight": 10},
        ]
        deployment = unique("fuzz-dep")
        body = {"name": deployment, "policy": {"targets": canary}}
        ok(api.post(f"{API}/deployments", json=body))
        for path in (  # each id names a resource: the seeded strategy relies on it
            f"{API}/experiments/{exp}",
            f"{API}/runs/{run_id}",
            f"{models}/{model}/versions/{version}",
            f"{models}/{model}/aliases/{ALIAS}",
            f"{API}/promotion-requests/{request['id']}",
            f"{API}/deployments/{deployment}",
        ):
            ok(api.get(path))
    return {
        "experiment_id": exp,
        "run_id": run_id,
        "name": model,
        "version": version,
        "alias": ALIAS,
        "request_id": request["id"],
        "deployment": deployment,
    }


@pytest.fixture(scope="module")
def open_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz-open")
    server = ServerProcess(f"sqlite:///{root / 'keel.db'}", root / "artifacts", root / "log")
    server.start()
    try:
        ids = seed(server.url, {})
        dataset = seed_dataset(server.url, None, root)
        yield Target(server, {}, ids, dataset, seed_log(server.url, {}, ids["deployment"]))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def auth_target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    root = tmp_path_factory.mktemp("fuzz-auth")
    # No rate limit: the fuzzer is one client sending as fast as it can.
    server = AuthServer(root, env={"KEEL_RATE_LIMIT": "none"})
    token = create_user(server.backend, "fuzz-admin", "--admin")
    server.start()
    headers = {"Authorization": f"Bearer {token}"}
    try:
        ids = seed(server.url, headers)
        dataset = seed_dataset(server.url, token, root)
        log = seed_log(server.url, headers, ids["deployment"])
        yield Target(server, headers, ids, dataset, log)
    finally:
        server.stop()


def fuzz(target: Target) -> list[str]:
    """Fuzz every operation of the target's document; one line per failing operation."""
    raw = httpx.get(f"{target.server.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(raw)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions last, so the seeded resources are there for every other route.
    operations.sort(key=lambda op: op.method.upper() == "DELETE")
    failures: list[str] = []
    for operation in operations:
        problem = fuzz_operation(operation, target)
        if problem:
            failures.append(f"{operation.method.upper()} {operation.path}: {problem}")
    return failures


def fuzz_operation(operation: Any, target: Target) -> str | None:
    """The first failure of ``operation`` (a schemathesis ``APIOperation``), or ``None``."""
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [p.name for p in operation.path_parameters]
    known = target.seeded(operation.path)
    if names and all(name in known for name in names):
        seeded = {name: known[name] for name in names}
        strategies.append(operation.as_strategy(path_parameters=seeded))
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES * len(strategies),
        derandomize=SEED is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(strategies))
    def run(case: Any) -> None:
        if found:
            return
        try:
            case.call_and_validate(
                base_url=target.server.url, headers=target.headers, checks=CHECKS, timeout=30
            )
        except (AssertionError, FailureGroup) as exc:
            found.append(f"{type(exc).__name__}: {str(exc).strip()[:1500]}")

    (run if SEED is None else hypothesis.seed(int(SEED))(run))()
    return found[0] if found else None


def test_fuzz_open_server(open_target: Target) -> None:
    failures = fuzz(open_target)
    assert not failures, "\n\n".join(failures)
    assert log_problems(open_target.server.log) == []


def test_fuzz_authenticated_server(auth_target: Target) -> None:
    failures = fuzz(auth_target)
    assert not failures, "\n\n".join(failures)
    assert log_problems(auth_target.server.log) == []
