"""A run's parent under MLflow's name for it, the ``mlflow.parentRunId`` tag.

Keel keeps the parent as the run's ``parent_run_id`` attribute. Code written for MLflow
names it as a tag: when creating a run (``tags={"mlflow.parentRunId": parent}``), when
reading one (``run.data.tags["mlflow.parentRunId"]``) and in filters (the search grammar
maps that tag to the attribute).
"""

from __future__ import annotations

from keel.entities import Run, RunData
from keel.entities.run import TAG_MLFLOW_PARENT_RUN_ID
from keel.errors import InvalidArgument

__all__ = ["parent_from_tags", "with_parent_tag"]


def with_parent_tag(run: Run) -> Run:
    """``run`` with MLflow's ``mlflow.parentRunId`` tag when it has a parent, for code
    written against MLflow (Keel stores the parent as the run's ``parent_run_id``)."""
    parent = run.info.parent_run_id
    if parent is None or run.data.tags.get(TAG_MLFLOW_PARENT_RUN_ID) == parent:
        return run
    tags = {**run.data.tags, TAG_MLFLOW_PARENT_RUN_ID: parent}
    return Run(run.info, RunData(run.data.metrics, run.data.params, tags))


def parent_from_tags(tags: dict[str, str], parent_run_id: str | None) -> str | None:
    """The parent that MLflow code names with a ``mlflow.parentRunId`` tag at creation,
    taken out of ``tags`` (the parent is an attribute here; reads show the tag again)."""
    tagged = tags.pop(TAG_MLFLOW_PARENT_RUN_ID, None)
    if tagged is None:
        return parent_run_id
    if parent_run_id is not None and parent_run_id != tagged:
        raise InvalidArgument(
            f"tags: {TAG_MLFLOW_PARENT_RUN_ID} {tagged!r} differs from parent_run_id "
            f"{parent_run_id!r}; give one of them"
        )
    return tagged
