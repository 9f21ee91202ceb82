"""The search vocabulary: entity and attribute names, operators, and what each may compare."""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass

__all__ = [
    "ALL_OPS",
    "ATTRIBUTE_ALIASES",
    "ATTRIBUTE_KEYS",
    "BARE_CHARS",
    "DATASET_KEYS",
    "ENTITY_ALIASES",
    "KEY_EXAMPLES",
    "NUMBER",
    "OPERATOR_CHARS",
    "ORDERABLE_ATTRIBUTES",
    "QUOTES",
    "RUN_STATUSES",
    "SPECIAL_NUMBERS",
    "SYMBOL_OPS",
    "TAG_ATTRIBUTES",
    "VALUE_QUOTES",
    "Rule",
    "rule_for",
]

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

ENTITY_ALIASES: dict[str, str] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}

ATTRIBUTE_ALIASES: dict[str, str] = {
    "run_id": "run_id",
    "id": "run_id",
    "run_uuid": "run_id",
    "run_name": "run_name",
    "name": "run_name",
    "status": "status",
    "start_time": "start_time",
    "created": "start_time",
    "end_time": "end_time",
    "user_id": "user_id",
    "user": "user_id",
    "artifact_uri": "artifact_uri",
    "experiment_id": "experiment_id",
    "lifecycle_stage": "lifecycle_stage",
    "last_heartbeat": "last_heartbeat",
    "parent_run_id": "parent_run_id",
}

# Tags that other tools use for what Keel keeps as an attribute: a condition on the tag is
# one on the attribute (MLflow's nested runs filter on ``tags.mlflow.parentRunId``).
TAG_ATTRIBUTES: dict[str, str] = {"mlflow.parentRunId": "parent_run_id"}

ATTRIBUTE_KEYS: tuple[str, ...] = tuple(dict.fromkeys(ATTRIBUTE_ALIASES.values()))
ORDERABLE_ATTRIBUTES: tuple[str, ...] = (
    "run_name",
    "start_time",
    "end_time",
    "status",
    "run_id",
    "experiment_id",
    "last_heartbeat",
    "user_id",
    "parent_run_id",
)
DATASET_KEYS: tuple[str, ...] = ("name", "digest", "context")
RUN_STATUSES: tuple[str, ...] = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

_TIME_ATTRIBUTES = frozenset({"start_time", "end_time", "last_heartbeat"})

_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=", "IS NULL", "IS NOT NULL")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN")
_NULLABLE_STRING_OPS = (*_STRING_OPS, "IS NULL", "IS NOT NULL")
ALL_OPS = (*_NUMBER_OPS[:6], *_STRING_OPS[2:], "IS NULL", "IS NOT NULL")

# Longest first, so "<=" wins over "<" and "==" over "=".
SYMBOL_OPS: tuple[tuple[str, str], ...] = (
    ("==", "="),
    ("!=", "!="),
    ("<>", "!="),
    ("<=", "<="),
    (">=", ">="),
    ("=", "="),
    ("<", "<"),
    (">", ">"),
)

BARE_CHARS = frozenset(string.ascii_letters + string.digits + "_/.:-")
OPERATOR_CHARS = frozenset("=!<>")
QUOTES = ("`", '"', "'")
VALUE_QUOTES = ('"', "'")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
SPECIAL_NUMBERS: dict[str, float] = {
    "nan": math.nan,
    "infinity": math.inf,
    "+infinity": math.inf,
    "-infinity": -math.inf,
    "inf": math.inf,
    "+inf": math.inf,
    "-inf": -math.inf,
}
KEY_EXAMPLES = "metrics.accuracy, params.lr, tags.team or status"


@dataclass(frozen=True, slots=True)
class Rule:
    """What one identifier may be compared with."""

    subject: str  # how messages name it: "metrics", "start_time", "datasets.name"
    nature: str  # "metrics are numbers"
    numeric: bool
    ops: tuple[str, ...]
    choices: tuple[str, ...] = ()  # allowed values (upper-case), if restricted


def rule_for(entity: str, key: str) -> Rule:
    if entity == "metric":
        return Rule("metrics", "metrics are numbers", True, _NUMBER_OPS)
    if entity == "param":
        return Rule("params", "params are strings", False, _NULLABLE_STRING_OPS)
    if entity == "tag":
        return Rule("tags", "tags are strings", False, _NULLABLE_STRING_OPS)
    if entity == "dataset":
        return Rule(f"datasets.{key}", f"datasets.{key} is a string", False, _STRING_OPS)
    if key in _TIME_ATTRIBUTES:
        nature = f"{key} is a number (milliseconds since the epoch)"
        return Rule(key, nature, True, _NUMBER_OPS)
    if key == "run_id":
        return Rule(key, "run_id is a string", False, ("=", "!=", "LIKE", "IN", "NOT IN"))
    if key == "parent_run_id":  # NULL for a top-level run
        return Rule(key, "parent_run_id is a run id", False, _NULLABLE_STRING_OPS)
    if key == "status":
        return Rule(key, "status is a string", False, ("=", "!=", "IN", "NOT IN"), RUN_STATUSES)
    return Rule(key, f"{key} is a string", False, _STRING_OPS)
