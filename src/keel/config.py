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
    system_metrics_sampling_interval: float = 10.0
    """``KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL``: seconds between system metrics samples."""
    enable_system_metrics_logging: bool = False
    """``KEEL_ENABLE_SYSTEM_METRICS_LOGGING``: log system metrics in every run (``true``)."""
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
    prediction_log_queue: int = 100_000
    """``KEEL_PREDICTION_LOG_QUEUE``: rows the prediction log holds in memory before it
    drops batches (counted, never blocking a request)."""
    prediction_log_flush_seconds: float = 5.0
    """``KEEL_PREDICTION_LOG_FLUSH_SECONDS``: how often the prediction log writes a file
    per deployment and hour (sooner when half its queue is full)."""

    tracking_token: str | None = None
    """``KEEL_TRACKING_TOKEN``: the API token sent to ``keel server``; wins over the one
    ``keel login`` saved."""
    config_dir: Path | None = None
    """Where ``keel login`` keeps tokens (``credentials.json``, mode 0600): ``KEEL_HOME``
    when it is set, else ``$XDG_CONFIG_HOME/keel`` or ``~/.config/keel`` (never a project's
    ``.keel`` folder found from the current one: it may be committed)."""
    rate_limit: str = "6000/minute"
    """``KEEL_RATE_LIMIT``: requests each API token may make (``limits`` syntax, e.g.
    ``100/second``; ``none`` turns it off); over it, 429 with ``Retry-After``."""
    alert_allowed_hosts: tuple[str, ...] = ()
    """``KEEL_ALERT_ALLOWED_HOSTS``: comma-separated hosts alerts may be sent to (webhooks,
    Slack): exact names, ``*.example.com`` for its sub-domains, ``*`` for any public host.
    Empty: no outbound alerts but e-mail."""
    alert_allowed_networks: tuple[str, ...] = ()
    """``KEEL_ALERT_ALLOWED_NETWORKS``: comma-separated networks (``10.1.2.0/24``) an alert
    host may resolve to although they are private; otherwise only public addresses."""
    monitor_tick_seconds: float = 30.0
    """``KEEL_MONITOR_TICK_SECONDS``: how often ``keel server`` looks for monitors due."""
    smtp_url: str | None = None
    """``KEEL_SMTP_URL``: where alert e-mails go,
    ``smtp://user:password@host:587?starttls=true&from=keel@example.com``."""
    serve_request_timeout: float = 30.0
    """``KEEL_SERVE_REQUEST_TIMEOUT``: seconds a model server waits for a prediction before
    answering 504 (``keel serve --request-timeout`` wins)."""
    serve_options: str | None = None
    """``KEEL_SERVE_OPTIONS``: what ``keel serve`` hands its worker processes (JSON)."""
    auth_cache_seconds: float = 30.0
    """``KEEL_AUTH_CACHE_SECONDS``: how long the server trusts what it read about a token
    and its principal's roles; revoking through this server takes effect at once, in
    other processes (workers, the CLI on the database) within this time."""

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
        if explicit:
            config_dir = home
        else:
            xdg = env.get("XDG_CONFIG_HOME")
            config_dir = (
                Path(xdg) / "keel" if xdg else Path(env.get("HOME") or "~") / ".config/keel"
            )
            config_dir = config_dir.expanduser()
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
            system_metrics_sampling_interval=_number(
                env, "KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL", 10.0
            ),
            enable_system_metrics_logging=_flag(env, "KEEL_ENABLE_SYSTEM_METRICS_LOGGING"),
            trusted_model_sources=tuple(
                prefix.strip()
                for prefix in env.get("KEEL_TRUSTED_MODEL_SOURCES", "").split(",")
                if prefix.strip()
            ),
            tracking_token=env.get("KEEL_TRACKING_TOKEN") or None,
            config_dir=config_dir,
            rate_limit=env.get("KEEL_RATE_LIMIT") or "6000/minute",
            auth_cache_seconds=_number(env, "KEEL_AUTH_CACHE_SECONDS", 30.0),
            alert_allowed_hosts=_list(env, "KEEL_ALERT_ALLOWED_HOSTS"),
            alert_allowed_networks=_list(env, "KEEL_ALERT_ALLOWED_NETWORKS"),
            smtp_url=env.get("KEEL_SMTP_URL") or None,
            monitor_tick_seconds=_number(env, "KEEL_MONITOR_TICK_SECONDS", 30.0),
            serve_request_timeout=_number(env, "KEEL_SERVE_REQUEST_TIMEOUT", 30.0),
            serve_options=env.get("KEEL_SERVE_OPTIONS") or None,
            prediction_log_queue=int(_number(env, "KEEL_PREDICTION_LOG_QUEUE", 100_000)),
            prediction_log_flush_seconds=_number(env, "KEEL_PREDICTION_LOG_FLUSH_SECONDS", 5.0),
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

    @property
    def credentials_path(self) -> Path:
        """The file ``keel login`` writes and the client reads tokens from."""
        folder = self.config_dir or Path("~/.config/keel").expanduser()
        return folder / "credentials.json"

    def with_tracking_token(self, token: str | None) -> Settings:
        return replace(self, tracking_token=token)


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


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise InvalidArgument(f"{name}: must be true or false, got {env[name]!r}")
