"""Routes return what their ``response_model`` says: each ``XPublic`` schema validates
what its codec makes of a representative entity (non-finite floats where floats appear,
``None`` wherever a field is optional), sent as JSON, with extra keys forbidden. So every
key the codec emits is declared, every required field is there, and every value has the
declared type (strictly: no number in a string, no bool for an int)."""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from keel import wire
from keel.entities import Experiment, FileInfo, MetricHistory, Run, RunInfo, RunPage, RunStatus
from keel.entities.access import (
    ApiToken,
    Grant,
    Group,
    IssuedToken,
    Principal,
    PrincipalKind,
    Project,
    Role,
)
from keel.entities.dataset import Dataset, DatasetInput, DatasetKind, DatasetVersion
from keel.entities.experiment import LifecycleStage
from keel.entities.registry import (
    AliasPolicy,
    AuditAction,
    AuditPage,
    AuditRecord,
    CheckResult,
    ModelVersion,
    ModelVersionPage,
    ModelVersionStatus,
    PromotionRequest,
    PromotionState,
    RegisteredModel,
    RegisteredModelPage,
)
from keel.entities.run import RunData
from keel.wire import (
    access,
    artifacts,
    datasets,
    errors,
    experiments,
    governance,
    history,
    models,
    runs,
)

ID = "0123456789abcdef0123456789abcdef"
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "finite": 0.25}


def info(*, sparse: bool) -> RunInfo:
    return RunInfo(
        run_id=ID,
        experiment_id="7",
        run_name="r",
        status=RunStatus.RUNNING if sparse else RunStatus.FINISHED,
        start_time=1,
        end_time=None if sparse else 2,
        lifecycle_stage=LifecycleStage.ACTIVE,
        artifact_uri="file:///a",
        parent_run_id=None if sparse else ID,
        user_id=None if sparse else "ann",
        last_heartbeat=None if sparse else 3,
    )


def run(*, sparse: bool) -> Run:
    data = RunData() if sparse else RunData(dict(NON_FINITE), {"p": "1"}, {"t": "x"})
    return Run(info(sparse=sparse), data)


def version(*, sparse: bool) -> ModelVersion:
    return ModelVersion(
        name="fraud",
        version=2,
        source=f"runs:/{ID}/model",
        run_id=ID,
        content_hash="blake3:" + "0" * 64,
        status=ModelVersionStatus.APPROVED,
        tags={} if sparse else {"k": "v"},
        signature=None if sparse else '{"inputs": []}',
        parent_version=None if sparse else 1,
        created=1,
        updated=2,
        created_by="ann",
        aliases=[] if sparse else ["champion"],
    )


def audit(*, sparse: bool) -> AuditRecord:
    return AuditRecord(
        id=1,
        at=2,
        actor="ann",
        action=AuditAction.ALIAS_SET,
        name="fraud",
        version=None if sparse else 2,
        alias=None if sparse else "champion",
        before=None if sparse else {"version": 1},
        after=None if sparse else {"version": 2},
    )


def dataset_version(*, sparse: bool) -> DatasetVersion:
    return DatasetVersion(
        name="iris",
        version=3,
        digest="blake3:" + "1" * 64,
        kind=DatasetKind.FOLDER if sparse else DatasetKind.TABLE,
        file_count=1,
        total_bytes=10,
        source="/data/iris",
        description="",
        created=1,
        created_by="ann",
        row_count=None if sparse else 150,
        column_count=None if sparse else 5,
        profile=None if sparse else {"columns": {"x": {"mean": 1.5}}},
    )


def chunk() -> MetricHistory:
    values = list(NON_FINITE.values())
    return MetricHistory("loss", [0, 1, 2, 3], values, [10, 11, 12, 13], total=40)


CASES: list[tuple[type[BaseModel], str, Any]] = []
for sparse in (False, True):
    kind = "sparse" if sparse else "full"
    CASES += [
        (
            experiments.ExperimentPublic,
            kind,
            experiments.experiment_to_dict(
                Experiment("7", "e", "file:///a", tags={} if sparse else {"k": "v"})
            ),
        ),
        (runs.RunInfoPublic, kind, runs.run_info_to_dict(info(sparse=sparse))),
        (runs.RunDataPublic, kind, runs.run_to_dict(run(sparse=sparse))["data"]),
        (runs.RunPublic, kind, runs.run_to_dict(run(sparse=sparse))),
        (
            runs.RunPagePublic,
            kind,
            runs.run_page_to_dict(
                RunPage([], None)
                if sparse
                else RunPage([run(sparse=False), run(sparse=True)], "token")
            ),
        ),
        (
            artifacts.FileInfoPublic,
            kind,
            artifacts.file_info_to_dict(
                FileInfo("d", True) if sparse else FileInfo("d/f", False, 3, "0" * 64)
            ),
        ),
        (
            models.RegisteredModelPublic,
            kind,
            models.model_to_dict(
                RegisteredModel("fraud")
                if sparse
                else RegisteredModel("fraud", "d", {"k": "v"}, 1, 2, {"champion": 2})
            ),
        ),
        (
            models.RegisteredModelPagePublic,
            kind,
            models.model_page_to_dict(RegisteredModelPage([RegisteredModel("fraud")], None)),
        ),
        (models.ModelVersionPublic, kind, models.version_to_dict(version(sparse=sparse))),
        (
            models.ModelVersionPagePublic,
            kind,
            models.version_page_to_dict(
                ModelVersionPage([version(sparse=sparse)], None if sparse else "token")
            ),
        ),
        (
            governance.AliasPolicyPublic,
            kind,
            governance.policy_to_dict(
                AliasPolicy("fraud", "champion", [] if sparse else ["accuracy"])
            ),
        ),
        (
            governance.CheckPublic,
            kind,
            governance.check_to_dict(
                CheckResult("fraud", 2, "accuracy", not sparse, None if sparse else {"auc": 0.9})
            ),
        ),
        (
            governance.PromotionRequestPublic,
            kind,
            governance.request_to_dict(
                PromotionRequest(1, "fraud", 2, "champion", "ann")
                if sparse
                else PromotionRequest(
                    1, "fraud", 2, "champion", "ann", PromotionState.APPROVED, "bob", "ok", 3, 4
                )
            ),
        ),
        (governance.AuditRecordPublic, kind, governance.audit_to_dict(audit(sparse=sparse))),
        (
            governance.AuditPagePublic,
            kind,
            governance.audit_page_to_dict(AuditPage([audit(sparse=sparse)], None)),
        ),
        (
            datasets.DatasetPublic,
            kind,
            datasets.dataset_to_dict(Dataset("iris", "" if sparse else "d", 1, 2, 3)),
        ),
        (
            datasets.DatasetVersionPublic,
            kind,
            # A list of versions leaves the profile out; one version carries it (or null).
            datasets.dataset_version_to_dict(dataset_version(sparse=sparse), profile=not sparse),
        ),
        (
            datasets.DatasetVersionPublic,
            f"{kind}-with-profile",
            datasets.dataset_version_to_dict(dataset_version(sparse=sparse), profile=True),
        ),
        (
            datasets.RunInputPublic,
            kind,
            datasets.dataset_input_to_dict(DatasetInput(ID, "iris", 3, "training", 1)),
        ),
    ]
CASES += [
    (datasets.ManifestPublic, "full", datasets.manifest_to_dict("blake3:" + "1" * 64, b"{}")),
    (history.MetricHistoryHead, "full", history.history_head_to_dict(chunk())),
    (history.MetricHistoryChunk, "full", history.history_chunk_to_dict(chunk())),
    (
        history.MetricHistoryChunk,
        "sparse",
        history.history_chunk_to_dict(MetricHistory("loss", [], [], [], total=0)),
    ),
    (history.StreamEnd, "full", history.stream_end_to_dict(4)),
    (errors.ErrorPublic, "full", errors.error_to_dict("not_found", "run x: no such run")),
    (errors.StreamError, "full", errors.error_to_dict("internal_error", "internal error")),
]
for sparse in (False, True):
    kind = "sparse" if sparse else "full"
    maybe = None if sparse else 5
    CASES += [
        (
            access.TokenPublic,
            kind,
            access.token_to_dict(ApiToken("t1", 1, "ann", "ci", 1, maybe, maybe, maybe)),
        ),
        (
            access.PrincipalPublic,
            kind,
            access.principal_to_dict(Principal(1, "ann", PrincipalKind.USER, sparse, 1, sparse)),
        ),
        (
            access.ProjectPublic,
            kind,
            access.project_to_dict(Project(1, "fraud", "", 1, maybe, 0 if sparse else 7)),
        ),
        (
            access.GrantPublic,
            kind,
            access.grant_to_dict(Grant("fraud", "ann", Role.EDITOR, 1, to_group=sparse)),
        ),
        (
            access.GroupPublic,
            kind,
            access.group_to_dict(Group("team", 1, () if sparse else ("ann", "bob"))),
        ),
    ]
_TOKEN = ApiToken("t1", 1, "ann", "ci", 1, None, None, None)
CASES += [
    (access.TokenIssued, "full", access.issued_to_dict(IssuedToken(_TOKEN, "keel_t1_x"))),
]


def _deployment(*, sparse: bool) -> Any:
    from keel.entities.deployment import Deployment, Target, TrafficPolicy

    policy = (
        TrafficPolicy.single("models:/fraud@champion")
        if sparse
        else TrafficPolicy(
            (
                Target("models:/fraud/3", 90),
                Target("models:/fraud/4", 10),
                Target("models:/fraud@challenger", 0, shadow=True),
            ),
            sticky_key="X-User-Id",
            sampling=0.5,
        )
    )
    return Deployment("fraud-api", policy, 2, "", 1, 2, "ann", {} if sparse else {"team": "risk"})


for _sparse in (True, False):
    from keel.entities.deployment import DeploymentAction, DeploymentRevision
    from keel.wire import deployments as wire_deployments

    _made = _deployment(sparse=_sparse)
    _revision = DeploymentRevision(
        "fraud-api", 2, _made.policy, DeploymentAction("traffic"), "ann", 2,
        None if _sparse else "req-1",
    )  # fmt: skip
    _kind = "sparse" if _sparse else "full"
    CASES += [
        (wire_deployments.DeploymentPublic, _kind, wire_deployments.deployment_to_dict(_made)),
        (wire_deployments.RevisionPublic, _kind, wire_deployments.revision_to_dict(_revision)),
        (wire_deployments.PolicyPublic, _kind, _made.policy.to_dict()),
        (wire_deployments.TargetPublic, _kind, _made.policy.targets[-1].to_dict()),
    ]
CASES += [
    (
        wire_deployments.AccessPublic,
        "full",
        {
            "allowed": True,
            "permission": "deployment:predict",
            "principal": "ann",
            "authenticated": True,
        },
    ),
]


@pytest.mark.parametrize(
    ("schema", "encoded"),
    [
        pytest.param(schema, encoded, id=f"{schema.__name__}-{kind}")
        for schema, kind, encoded in CASES
    ],
)
def test_the_codec_sends_what_the_schema_declares(
    schema: type[BaseModel], encoded: dict[str, Any]
) -> None:
    # As the server sends it: orjson would write a float NaN as null, so none may be left.
    sent = orjson.dumps(encoded)
    schema.model_validate_json(sent, strict=True, extra="forbid")


def test_non_finite_floats_travel_as_their_names() -> None:
    sent = orjson.loads(orjson.dumps(runs.run_to_dict(run(sparse=False))))
    assert sent["data"]["metrics"] == {
        "nan": "NaN",
        "inf": "Infinity",
        "-inf": "-Infinity",
        "finite": 0.25,
    }
    assert orjson.loads(orjson.dumps(history.history_chunk_to_dict(chunk())))["values"] == [
        "NaN",
        "Infinity",
        "-Infinity",
        0.25,
    ]


def public_schemas() -> set[type[BaseModel]]:
    """Every ``XPublic`` schema defined in a module of ``keel.wire``."""
    modules = [
        importlib.import_module(f"keel.wire.{m.name}") for m in pkgutil.iter_modules(wire.__path__)
    ]
    return {
        value
        for module in modules
        for name, value in vars(module).items()
        if name.endswith("Public")
        and inspect.isclass(value)
        and value.__module__ == module.__name__
    }


def test_every_public_schema_has_a_case() -> None:
    tested = {schema for schema, _, _ in CASES}
    missing = sorted(s.__name__ for s in public_schemas() - tested)
    assert not missing, f"no case in CASES for {missing}: add one built with the codec"
