"""Experiments on the wire: ``/api/v1/experiments``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from keel.entities.experiment import Experiment, LifecycleStage
from keel.wire.base import Strict


class ExperimentCreate(Strict):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    artifact_location: str | None = Field(
        default=None, description="Refused: the server places artifacts under its own root."
    )
    project: str | None = Field(default=None, description="Its project (default: default).")


class ExperimentTag(Strict):
    key: str
    value: str


class ExperimentPublic(BaseModel):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str]


class ExperimentList(BaseModel):
    experiments: list[ExperimentPublic]


class ExperimentId(BaseModel):
    experiment_id: str


def experiment_to_dict(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.value,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
        "tags": e.tags,
    }


def experiment_from_dict(d: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=str(d["experiment_id"]),
        name=d["name"],
        artifact_location=d["artifact_location"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        creation_time=d["creation_time"],
        last_update_time=d["last_update_time"],
        tags=dict(d.get("tags") or {}),
    )
