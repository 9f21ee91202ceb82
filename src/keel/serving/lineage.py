"""Where a prediction came from: the deployment that answered it, the model version it
ran, the run that trained that version, the dataset versions the run used and the git
commit it was made from.

>>> trace = trace_prediction(pid, files=f, registry=r, tracking=t, datasets=d)  # doctest: +SKIP
>>> print("\\n".join(trace.lines()))                                          # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keel.errors import NotFound
from keel.predictions.reader import find_prediction
from keel.store.base import TrackingStore
from keel.store.datasets import DatasetStore
from keel.store.prediction_files import PredictionFiles
from keel.store.registry import RegistryStore


@dataclass(frozen=True, slots=True)
class Lineage:
    prediction: dict[str, Any]
    """The logged row: ``prediction_id``, ``time`` (ms), ``deployment``, ``model_name``,
    ``model_version``, ``prediction``, inputs and scores."""
    model: dict[str, Any] | None = None
    run: dict[str, Any] | None = None
    datasets: list[dict[str, Any]] = field(default_factory=list)
    code: dict[str, Any] | None = None
    gaps: list[str] = field(default_factory=list)
    """Links that could not be followed (a version or run deleted since), each a sentence."""

    @property
    def deployment(self) -> str:
        return str(self.prediction["deployment"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "prediction": self.prediction,
            "deployment": self.deployment,
            "model_version": self.model,
            "run": self.run,
            "datasets": self.datasets,
            "code": self.code,
            "gaps": self.gaps,
        }

    def lines(self) -> list[str]:
        """The chain as text, one link a line."""
        from datetime import UTC, datetime

        row = self.prediction
        made = datetime.fromtimestamp(row["time"] / 1000, tz=UTC).isoformat(timespec="milliseconds")
        out = [
            f"prediction  {row['prediction_id']}  at {made}  -> {row.get('prediction')!r}",
            f"deployment  {self.deployment}" + ("  (shadow)" if row.get("shadow") else ""),
        ]
        if self.model is not None:
            out.append(
                f"model       models:/{self.model['name']}/{self.model['version']}  "
                f"({self.model['status']}, {self.model['content_hash']})"
            )
        if self.run is not None:
            out.append(
                f"run         {self.run['run_id']}  {self.run['run_name']!r}  "
                f"(experiment {self.run['experiment_id']})"
            )
        for data in self.datasets:
            out.append(f"dataset     {data['uri']}  ({data['context']}, {data['digest']})")
        if self.code is not None:
            dirty = ", uncommitted changes" if self.code["dirty"] else ""
            branch = f" on {self.code['branch']}" if self.code.get("branch") else ""
            out.append(f"commit      {self.code['commit']}{branch}{dirty}")
        out.extend(f"missing     {gap}" for gap in self.gaps)
        return out


def trace_prediction(
    prediction_id: str,
    *,
    files: PredictionFiles,
    registry: RegistryStore,
    tracking: TrackingStore,
    datasets: DatasetStore,
) -> Lineage:
    """The lineage of one logged prediction; ``NotFound`` when the log has no such id."""
    row = find_prediction(files, prediction_id)
    if row is None:
        raise NotFound(
            f"prediction {prediction_id!r}: not in the prediction log (it may have been "
            "sampled out, or its file not delivered yet)"
        )
    gaps: list[str] = []
    name, number = str(row["model_name"]), int(row["model_version"])
    try:
        version = registry.get_model_version(name, number)
    except NotFound:
        gaps.append(
            f"model version models:/{name}/{number} is not in the registry (deleted since, or "
            "never registered)"
        )
        return Lineage(row, gaps=gaps)
    model = {
        "name": version.name,
        "version": version.version,
        "uri": f"models:/{version.name}/{version.version}",
        "status": str(getattr(version.status, "value", version.status)),
        "content_hash": version.content_hash,
        "source": version.source,
        "aliases": list(version.aliases),
        "run_id": version.run_id,
    }
    try:
        run = tracking.get_run(version.run_id)
    except NotFound:
        gaps.append(f"run {version.run_id} (which made the version) is not in the store (deleted)")
        return Lineage(row, model, gaps=gaps)
    info = run.info
    run_view = {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "experiment_id": info.experiment_id,
        "status": str(getattr(info.status, "value", info.status)),
        "start_time": info.start_time,
        "end_time": info.end_time,
        "user_id": info.user_id,
    }
    used = []
    for link in datasets.run_inputs(info.run_id):
        entry: dict[str, Any] = {
            "name": link.name,
            "version": link.version,
            "uri": f"datasets:/{link.name}@{link.version}",
            "context": link.context,
            "digest": None,
        }
        try:
            entry["digest"] = datasets.get_dataset_version(link.name, link.version).digest
        except NotFound:
            gaps.append(f"dataset version {entry['uri']} is not in the store (deleted)")
        used.append(entry)
    code = run.code_version
    code_view = None
    if code is None:
        gaps.append(f"run {info.run_id} recorded no git commit (not run from a repository)")
    else:
        code_view = {
            "commit": code.commit,
            "dirty": code.dirty,
            "branch": code.branch,
            "diff_hash": code.diff_hash,
        }
    return Lineage(row, model, run_view, used, code_view, gaps)
