"""Settings: every ``KEEL_*`` environment variable, read in this one place.

>>> settings = Settings.from_env({"KEEL_TRACKING_URI": "http://127.0.0.1:5000"})
>>> settings.tracking_uri
'http://127.0.0.1:5000'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from keel.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class Settings:
    home: Path
    """Where the embedded store lives: ``KEEL_HOME``, else the nearest ``.keel`` folder
    in the current folder or one above it (as git finds ``.git``), else ``./.keel``.
    Absolute, so that a later ``chdir`` does not move it."""
    tracking_uri: str | None = None
    """``KEEL_TRACKING_URI``: a folder, ``sqlite:///...``, ``postgresql+psycopg://...`` or
    ``http(s)://host:port``. ``None`` means the embedded store under ``home``."""
    artifacts_uri: str | None = None
    """``KEEL_ARTIFACTS_URI``: root for artifacts of a SQL store (a folder or fsspec URL)."""
    user: str | None = None
    """``KEEL_USER``: recorded on runs; defaults to the login name."""
    flush_interval: float = 1.0
    """``KEEL_FLUSH_INTERVAL``: seconds the client waits to gather writes into a batch."""
    max_buffered_rows: int = 1_000_000
    """``KEEL_MAX_BUFFERED_ROWS``: writes held in memory before logging waits on a flush."""
    heartbeat_interval: float = 15.0
    """``KEEL_HEARTBEAT_INTERVAL``: seconds between heartbeats of an active run."""
    run_timeout: float = 300.0
    """``KEEL_RUN_TIMEOUT``: a RUNNING run silent this long is reaped as lost (KILLED)."""
    http_timeout: float = 30.0
    """``KEEL_HTTP_TIMEOUT``: seconds before a request to ``keel server`` gives up."""
    spool_dir: Path | None = None
    """``KEEL_SPOOL_DIR``: where writes wait while the server is unreachable
    (default ``<home>/spool``)."""
    trusted_model_sources: tuple[str, ...] = ()
    """``KEEL_TRUSTED_MODEL_SOURCES``: comma-separated source prefixes (``models:/fraud``,
    ``s3://bucket/team``, a folder) whose pickled models load without ``trust=True``."""
    max_upload_bytes: int = 5 * 1024**3
    """``KEEL_MAX_UPLOAD_BYTES``: the most bytes ``keel server`` takes in one artifact or
    dataset upload (counted as they arrive; the partial file is removed). 5 GiB."""
    allowed_hosts: tuple[str, ...] = ()
    """``KEEL_ALLOWED_HOSTS``: comma-separated host names ``keel server`` answers to (its
    ``Host`` header) and whose pages may change data, besides the loopback names
    (``localhost``, ``127.0.0.1``, ``::1``), which are always allowed; ``*`` means any."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Settings:
        """The settings ``env`` (by default the process's environment) gives; ``home`` is
        looked for from ``cwd`` (by default the current folder) up."""
        env = os.environ if env is None else env
        here = Path.cwd() if cwd is None else Path(os.path.abspath(cwd))
        explicit = env.get("KEEL_HOME")
        if explicit:  # set: it wins, whatever is found above
            home = Path(os.path.normpath(here / Path(explicit).expanduser()))
        else:
            home = find_home(here)
        spool = env.get("KEEL_SPOOL_DIR")
        return cls(
            home=home,
            tracking_uri=env.get("KEEL_TRACKING_URI") or None,
            artifacts_uri=env.get("KEEL_ARTIFACTS_URI") or None,
            user=env.get("KEEL_USER") or None,
            flush_interval=_number(env, "KEEL_FLUSH_INTERVAL", 1.0),
            max_buffered_rows=int(_number(env, "KEEL_MAX_BUFFERED_ROWS", 1_000_000)),
            heartbeat_interval=_number(env, "KEEL_HEARTBEAT_INTERVAL", 15.0),
            run_timeout=_number(env, "KEEL_RUN_TIMEOUT", 300.0),
            http_timeout=_number(env, "KEEL_HTTP_TIMEOUT", 30.0),
            spool_dir=Path(spool).expanduser() if spool else None,
            trusted_model_sources=tuple(
                prefix.strip()
                for prefix in env.get("KEEL_TRUSTED_MODEL_SOURCES", "").split(",")
                if prefix.strip()
            ),
            max_upload_bytes=int(_number(env, "KEEL_MAX_UPLOAD_BYTES", 5 * 1024**3)),
            allowed_hosts=tuple(
                host.strip().lower()
                for host in env.get("KEEL_ALLOWED_HOSTS", "").split(",")
                if host.strip()
            ),
        )

    def with_tracking_uri(self, uri: str | None) -> Settings:
        return replace(self, tracking_uri=uri)

    @property
    def spool_path(self) -> Path:
        return self.spool_dir or self.home / "spool"


HOME_NAME = ".keel"
"""The folder of the embedded store, made in the current folder when none is found above."""


def find_home(start: Path) -> Path:
    """The nearest ``.keel`` folder in ``start`` (absolute) or a folder above it, up to
    the filesystem root; ``start/.keel`` when there is none. One ``stat`` per level: a
    command run from a subfolder of a project finds the project's store instead of
    making an empty one.

    >>> find_home(Path("/")) == Path("/.keel")
    True
    """
    for folder in (start, *start.parents):
        if (folder / HOME_NAME).is_dir():
            return folder / HOME_NAME
    return start / HOME_NAME


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidArgument(f"{name}: must be a number, got {raw!r}") from None
    if value <= 0:
        raise InvalidArgument(f"{name}: must be greater than 0, got {raw!r}")
    return value
