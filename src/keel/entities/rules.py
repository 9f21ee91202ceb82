"""The rules every name, value and batch must meet, checked before anything is written.

The client checks a write when it is made (so a mistake surfaces at the line that made it,
not at the next flush) and the store checks it again (a server trusts no client). Each
error names the field and the rule.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from keel.errors import InvalidArgument, PayloadTooLarge

if TYPE_CHECKING:
    from keel.entities.write import MetricColumns, WriteBatch

_Choice = TypeVar("_Choice", bound=StrEnum)

MAX_NAME_LENGTH = 250
MAX_DESCRIPTION_BYTES = 64 * 1024
MAX_ID = 2**31 - 1
"""The largest version number or registry id: what every database's INTEGER column holds."""
MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_BYTES = 8 * 1024
MAX_TAG_VALUE_BYTES = 64 * 1024
MAX_BATCH_ROWS = 100_000
"""Most rows (metric points + params + tags + run creations) one write request carries."""
MAX_BATCH_RUNS = 10_000
MAX_SEARCH_RESULTS = 50_000
MAX_SEARCH_EXPERIMENTS = 1_000
"""Experiments one run search may name (each is a bound parameter of one query)."""
MAX_ORDER_BY = 20
INT64_MAX = 2**63 - 1

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_KEY = re.compile(r"[A-Za-z0-9_\-. /:]+")
_RUN_ID = re.compile(r"[0-9a-f]{32}")
_DIGITS = re.compile(r"[0-9]{1,19}")


def check_name(field: str, value: object) -> str:
    """A human name: an experiment's or a run's."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidArgument(f"{field}: must not be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(
            f"{field}: must be at most {MAX_NAME_LENGTH} characters, got {len(value)}"
        )
    if _CONTROL.search(value):
        raise InvalidArgument(f"{field}: must not contain control characters")
    if value != value.strip():
        raise InvalidArgument(f"{field} {value!r}: must not start or end with whitespace")
    if _INVISIBLE.search(value):
        raise InvalidArgument(
            f"{field} {value!r}: must not contain invisible characters (zero-width spaces "
            "and joiners, direction marks, soft hyphens): they make names that look alike"
        )
    return value


_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
"""Characters that print as nothing: two names differing only by them look the same."""


def name_key(name: str) -> str:
    """What two names of models or datasets are compared by: Unicode NFKC, then case
    folded, so that 'Fraud', 'fraud' and its full-width form are one name.

    >>> name_key("Fraud") == name_key("\uff46\uff52\uff41\uff55\uff44")
    True
    """
    return unicodedata.normalize("NFKC", name).casefold()


def check_model_name(
    value: object,
    field: str = "model name",
    uris: str = "models:/<name>/<version> and models:/<name>@<alias>",
) -> str:
    """Like an experiment name, and without '/' or '@': they delimit URIs such as
    ``models:/`` (``uris`` names them in the error)."""
    name = check_name(field, value)
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        raise InvalidArgument(
            f"{field} {name!r}: must be written in Unicode normal form NFKC ({normal!r}), so "
            "that names that look the same are the same"
        )
    if name in (".", ".."):
        raise InvalidArgument(f"{field} {name!r}: '.' and '..' are not names")
    for forbidden in ("/", "@"):
        if forbidden in name:
            raise InvalidArgument(
                f"{field} {name!r}: must not contain {forbidden!r} (it separates parts of {uris})"
            )
    return name


def check_version(value: object, field: str = "version") -> int:
    """A version number, or another registry id (a promotion request's): 1 to 2**31 - 1,
    what every database's INTEGER column holds."""
    n = check_int(field, value, minimum=1)
    if n > MAX_ID:
        raise InvalidArgument(f"{field}: must be between 1 and {MAX_ID}, got {n}")
    return n


def check_key(field: str, key: object) -> str:
    """A param, metric or tag key: also used in paths and filters, so a narrow alphabet."""
    if isinstance(key, str) and key in _GOOD_KEYS:
        return key
    _check_key(field, key)
    if len(_GOOD_KEYS) < 100_000:
        _GOOD_KEYS.add(key)  # type: ignore[arg-type]
    return key  # type: ignore[return-value]


_GOOD_KEYS: set[str] = set()
"""Keys already found valid: the same few keys are checked again and again."""


def _check_key(field: str, key: object) -> None:
    if not isinstance(key, str):
        raise InvalidArgument(f"{field}: must be a string, got {type(key).__name__}")
    if not key:
        raise InvalidArgument(f"{field}: must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidArgument(
            f"{field} {key[:40]!r}...: must be at most {MAX_KEY_LENGTH} characters"
        )
    if not _KEY.fullmatch(key):
        raise InvalidArgument(
            f"{field} {key!r}: may contain only letters, digits, '_', '-', '.', ' ', '/' and ':'"
        )
    if key.startswith("/") or ".." in key.split("/"):
        raise InvalidArgument(f"{field} {key!r}: must not start with '/' or contain '..'")


def check_text(field: str, value: object, limit: int = MAX_DESCRIPTION_BYTES) -> str:
    """Free text: a string of at most ``limit`` UTF-8 bytes, without NUL."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}: must be a string, got {type(value).__name__}")
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise InvalidArgument(f"{field}: must be at most {limit} bytes, got {size}")
    if "\x00" in value:
        raise InvalidArgument(f"{field}: must not contain NUL characters")
    return value


def check_actor(value: object, field: str = "actor") -> str:
    """Who did something: a user name, as a run's or a registry change's author."""
    return check_name(field, value)


def check_param(key: object, value: object) -> tuple[str, str]:
    k = check_key("param key", key)
    return k, check_text(f"param {k!r} value", value, MAX_PARAM_VALUE_BYTES)


def check_tag(key: object, value: object) -> tuple[str, str]:
    k = check_key("tag key", key)
    return k, check_text(f"tag {k!r} value", value, MAX_TAG_VALUE_BYTES)


def check_metric(
    key: object, value: object, timestamp: object, step: object
) -> tuple[float, int, int]:
    """Check a metric point; returns its value, timestamp and step as Python numbers.
    Any real scalar is a value: numpy's ``float32``, ``int64`` and ``bool_`` too."""
    if (  # the common case, checked without a function call: logging is a hot path
        type(value) is float
        and type(step) is int
        and type(timestamp) is int
        and key in _GOOD_KEYS
        and -INT64_MAX <= step <= INT64_MAX
        and 0 <= timestamp <= INT64_MAX
    ):
        return value, timestamp, step
    k = check_key("metric key", key)
    number = metric_value(k, value)
    return (
        number,
        check_int(f"metric {k!r} timestamp", timestamp, minimum=0),
        check_int(f"metric {k!r} step", step, minimum=-INT64_MAX),
    )


def metric_value(key: str, value: object) -> float:
    """``value`` as a float, if it is a real number: Python's or numpy's, bools included
    (as 1.0 and 0.0, as numpy and MLflow take them); a 0-d numpy array counts as its item."""
    if type(value) is float:
        return value
    if isinstance(value, numbers.Real):  # int, bool, Fraction, numpy's ints and floats
        if isinstance(value, numbers.Integral) and abs(int(value)) > MAX_FLOAT:
            raise InvalidArgument(f"metric {key!r} value: {value} does not fit a 64-bit float")
        return float(value)
    dtype = getattr(value, "dtype", None)  # numpy.bool_, or a 0-d array of a real type
    if getattr(value, "ndim", None) == 0 and getattr(dtype, "kind", "") in "biuf":
        return float(value)  # type: ignore[arg-type]
    raise InvalidArgument(
        f"metric {key!r} value: must be a number, got {type(value).__name__} {value!r}"
    )


def check_int(field: str, value: object, *, minimum: int = 0) -> int:
    """``value`` as an int (numpy's integers too, never a bool), between ``minimum`` and
    the largest 64-bit integer."""
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise InvalidArgument(f"{field}: must be an integer, got {value!r}")
        if type(value).__name__ == "bool_":
            raise InvalidArgument(f"{field}: must be an integer, got {value!r}")
        value = int(value)
    if not minimum <= value <= INT64_MAX:
        raise InvalidArgument(f"{field}: must be between {minimum} and {INT64_MAX}")
    return value


def int_id(value: object, maximum: int = INT64_MAX) -> int | None:
    """The integer id ``value`` (an experiment id, a request id from a path) names, or
    ``None`` when it can name none: decimal ASCII digits, 0 to ``maximum``. ``int()``
    alone takes ``" 7"``, ``"7_0"`` and other scripts' digits, and numbers no database
    column holds, which then fail deep in the driver as a 500."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 <= number <= maximum else None


def check_run_id(value: object) -> str:
    if not isinstance(value, str) or not _RUN_ID.fullmatch(value):
        raise InvalidArgument(f"run_id: must be 32 lowercase hex characters, got {value!r}")
    return value


def check_batch_size(rows: int, runs: int) -> None:
    if rows > MAX_BATCH_ROWS:
        raise PayloadTooLarge(
            f"batch: at most {MAX_BATCH_ROWS} rows (metric points, params, tags) per "
            f"request, got {rows}; split it (keel.Client.log_batch does this for you)"
        )
    if runs > MAX_BATCH_RUNS:
        raise PayloadTooLarge(f"batch: at most {MAX_BATCH_RUNS} runs per request, got {runs}")


def check_max_results(value: object) -> int:
    n = check_int("max_results", value, minimum=1)
    if n > MAX_SEARCH_RESULTS:
        raise InvalidArgument(f"max_results: must be at most {MAX_SEARCH_RESULTS}, got {n}")
    return n


def check_choice(cls: type[_Choice], value: object, field: str) -> _Choice:
    """``value`` as a member of the string enum ``cls``, or an error listing the choices."""
    try:
        return cls(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(member.value for member in cls)
        raise InvalidArgument(f"{field}: must be one of {allowed}, got {value!r}") from None


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


MAX_FLOAT = 1.7976931348623157e308


def check_batch(batch: WriteBatch) -> None:
    """Check every field of a write batch; raise before anything is written. Every store
    calls this, so a bad batch gets the same error wherever it is sent."""
    if not isinstance(batch.batch_id, str) or not 1 <= len(batch.batch_id) <= 64:
        raise InvalidArgument("batch_id: must be a string of 1 to 64 characters")
    check_batch_size(batch.size(), len(batch.runs))
    seen: set[str] = set()
    for write in batch.runs:
        check_run_id(write.run_id)
        if write.run_id in seen:
            raise InvalidArgument(f"batch: run {write.run_id} appears more than once")
        seen.add(write.run_id)
        if write.create is not None:
            check_name("run_name", write.create.run_name)
            check_int("start_time", write.create.start_time)
            if write.create.parent_run_id is not None:
                check_run_id(write.create.parent_run_id)
        for key, value in write.params.items():
            check_param(key, value)
        for key, value in write.tags.items():
            check_tag(key, value)
        _check_columns(write.metrics)
        if write.heartbeat is not None:
            check_int("heartbeat", write.heartbeat)
        if write.end is not None:
            if not write.end.status.is_terminal:
                raise InvalidArgument(
                    f"status: a run ends FINISHED, FAILED or KILLED, not {write.end.status}"
                )
            check_int("end_time", write.end.end_time)


def _check_columns(m: MetricColumns) -> None:
    """Metric columns, checked with C-level scans in the common case."""
    if not len(m.keys) == len(m.values) == len(m.timestamps) == len(m.steps):
        raise InvalidArgument("metrics: keys, values, timestamps and steps differ in length")
    if not m.keys:
        return
    for key in set(m.keys):
        check_key("metric key", key)
    if set(map(type, m.values)) != {float}:
        for i, x in enumerate(m.values):
            if isinstance(x, bool) or not isinstance(x, int | float):
                raise InvalidArgument(f"metric {m.keys[i]!r} value: must be a number, got {x!r}")
            if isinstance(x, int) and abs(x) > MAX_FLOAT:
                raise InvalidArgument(
                    f"metric {m.keys[i]!r} value: {x} does not fit a 64-bit float"
                )
    for field, column, lowest in (
        ("timestamp", m.timestamps, 0),
        ("step", m.steps, -INT64_MAX),
    ):
        if set(map(type, column)) == {int} and lowest <= min(column) and max(column) <= INT64_MAX:
            continue
        for i, n in enumerate(column):
            check_int(f"metric {m.keys[i]!r} {field}", n, minimum=lowest)
