"""The model host: loads the versions a target names, keeps them current, and hands out
the :class:`Routing` that requests pick from.

A target is ``models:/name@alias`` or ``models:/name/3`` (one version, logged under the
deployment name ``model-<name>``), ``deployments:/name`` (the deployment's traffic policy)
or a model package folder (what a container image serves). Every ``poll_interval`` seconds
a thread re-reads the aliases and the deployment's revision; when they moved it loads the
new versions beside the old ones, switches the routing in one assignment, then lets the
old versions finish what they hold before closing them, so no request is dropped. A
store that cannot be reached changes nothing: the loaded versions keep answering.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.deployment import TrafficPolicy
from keel.errors import InvalidArgument, NotFound
from keel.serving.routing import Routing, log_name_for_model
from keel.serving.served import LogTarget, ServedModel

if TYPE_CHECKING:
    from keel.config import Settings
    from keel.predictions.records import PredictionSink
    from keel.serving.batcher import BatchStats
    from keel.serving.options import ServeOptions
    from keel.store.backend import Backend

log = logging.getLogger("keel.serving")
DRAIN_SECONDS = 60.0
"""How long a replaced version may take to answer what it holds before it is closed."""


@dataclass(frozen=True, slots=True)
class ServeTarget:
    kind: str
    """``model``, ``deployment`` or ``folder``."""
    value: str

    @classmethod
    def parse(cls, target: str) -> ServeTarget:
        """``models:/...``, ``deployments:/<name>`` or an existing model package folder."""
        from keel.entities.deployment import check_deployment_name
        from keel.uri import parse_model_uri

        if target.startswith("models:/"):
            parse_model_uri(target)
            return cls("model", target)
        if target.startswith("deployments:/"):
            return cls("deployment", check_deployment_name(target.removeprefix("deployments:/")))
        if "://" in target or ":/" in target.split("/")[0]:
            raise InvalidArgument(
                f"target {target!r}: serve models:/<name>@<alias>, models:/<name>/<version>, "
                "deployments:/<name> or a model package folder"
            )
        if not Path(target).is_dir():
            raise NotFound(f"target {target!r}: no such model package folder")
        return cls("folder", str(Path(target).resolve()))


class ModelHost:
    """Build with the options and settings, then :meth:`start` (loads, may raise: a
    digest that does not match refuses to start), :meth:`start_polling`, :meth:`close`."""

    def __init__(
        self,
        options: ServeOptions,
        settings: Settings,
        *,
        sink_factory: Callable[[Backend | None, Settings], PredictionSink | None] | None = None,
    ) -> None:
        self.options = options
        self.settings = settings
        self.target = ServeTarget.parse(options.target)
        self.backend: Backend | None = None
        self._sink_factory = sink_factory
        self._loaded: dict[tuple[str, int], ServedModel] = {}
        self._resolved: dict[str, tuple[str, int]] = {}
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self.on_batch: Callable[[ServedModel, BatchStats], None] | None = None
        self.on_load: Callable[[ServedModel], None] | None = None
        self.logs = LogTarget(deployment="model")
        self.routing: Routing
        self.last_refresh_error: str | None = None

    # start --------------------------------------------------------------------------------

    def start(self) -> Routing:
        if self.target.kind != "folder" or self.settings.tracking_uri:
            # A folder needs no store; with a tracking URI its predictions are logged there.
            from keel.store import open_backend

            uri = self.settings.tracking_uri or str(self.settings.home)
            self.backend = open_backend(uri, self.settings, migrate=False)
        if self._sink_factory is not None:
            self.logs.sink = self._sink_factory(self.backend, self.settings)
        if self.target.kind == "folder":
            self.routing = self._serve_folder()
        else:
            deployment, revision, policy = self._policy()
            self.logs.deployment = deployment
            self.routing = self._build(deployment, revision, policy)
        return self.routing

    def _serve_folder(self) -> Routing:
        from keel.models import load_model

        loaded = load_model(self.target.value, settings=self.settings)
        folder = Path(self.target.value)
        meta = loaded.metadata
        name = str(meta.get("registered_model_name") or folder.name)
        version = int(meta.get("registered_model_version") or 1)
        served = self._served(name, version, loaded, None)
        self._loaded[(name, version)] = served
        uri = f"models:/{name}/{version}"
        self.logs.deployment = log_name_for_model(name)
        policy = TrafficPolicy.single(uri, sampling=self._sampling(1.0))
        self._set_sampling(self.logs.deployment, policy.sampling)
        return Routing.build(self.logs.deployment, None, policy, {uri: served}, policy.sampling)

    def _policy(self) -> tuple[str, int | None, TrafficPolicy]:
        """The log name, revision and traffic policy the target gives now."""
        if self.target.kind == "model":
            from keel.uri import parse_model_uri

            name = parse_model_uri(self.target.value).name
            return log_name_for_model(name), None, TrafficPolicy.single(self.target.value)
        assert self.backend is not None
        from keel.serving.deployment_source import read_deployment

        found = read_deployment(self.backend, self.target.value)
        return found.name, found.revision, found.policy

    def _sampling(self, policy_sampling: float) -> float:
        return policy_sampling if self.options.sampling is None else self.options.sampling

    def _resolve(self, uri: str) -> tuple[str, int]:
        from keel.registry.loading import resolve_model_uri
        from keel.uri import parse_model_uri

        assert self.backend is not None
        version = resolve_model_uri(self.backend.registry, parse_model_uri(uri))
        return version.name, version.version

    def _build(self, deployment: str, revision: int | None, policy: TrafficPolicy) -> Routing:
        """Resolve every target, load the versions not loaded yet, and the routing over
        them (nothing is swapped here)."""
        resolved = {t.model_uri: self._resolve(t.model_uri) for t in policy.targets}
        for key in dict.fromkeys(resolved.values()):
            if key not in self._loaded:
                self._loaded[key] = self._load(*key)
        self._resolved = resolved
        models = {uri: self._loaded[key] for uri, key in resolved.items()}
        sampling = self._sampling(policy.sampling)
        self._set_sampling(deployment, sampling)
        return Routing.build(deployment, revision, policy, models, sampling)

    def _set_sampling(self, deployment: str, sampling: float) -> None:
        """The log samples rows itself (``PredictionLog.set_sampling``)."""
        self.logs.sampling = sampling
        set_sampling = getattr(self.logs.sink, "set_sampling", None)
        if callable(set_sampling):
            set_sampling(deployment, sampling)

    def _load(self, name: str, version: int) -> ServedModel:
        from keel.registry.loading import ModelSource, load_model

        assert self.backend is not None
        started = time.monotonic()
        source = ModelSource(self.backend.registry, self.backend.artifacts)
        loaded = load_model(f"models:/{name}/{version}", source, settings=self.settings)
        log.info("loaded model %s version %s in %.0f ms", name, version,
                 (time.monotonic() - started) * 1000)  # fmt: skip
        return self._served(name, version, loaded, _download_folder(loaded.path))

    def _served(self, name: str, version: int, loaded: Any, folder: Path | None) -> ServedModel:
        served = ServedModel(
            name, version, loaded, self.options, self.logs, on_batch=self._on_batch, folder=folder
        )
        if self.on_load is not None:
            self.on_load(served)
        return served

    def _on_batch(self, model: ServedModel, stats: BatchStats) -> None:
        if self.on_batch is not None:
            self.on_batch(model, stats)

    # keeping current ----------------------------------------------------------------------

    def start_polling(self) -> None:
        if self.target.kind == "folder" or self._poller is not None:
            return
        self._poller = threading.Thread(target=self._poll, name="keel-serve-poll", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.options.poll_interval):
            try:
                self.refresh()
                self.last_refresh_error = None
            except Exception as exc:  # the store away or a version that fails to load
                if self.last_refresh_error != str(exc):
                    log.warning("keel serve: keeping the loaded versions: %s", exc)
                self.last_refresh_error = str(exc)

    def refresh(self) -> bool:
        """Look again at the target; switch to what it names now. True if it changed."""
        deployment, revision, policy = self._policy()
        current = self.routing
        resolved = {t.model_uri: self._resolve(t.model_uri) for t in policy.targets}
        if (
            revision == current.revision
            and resolved == self._resolved
            and (self._sampling(policy.sampling) == current.sampling)
        ):
            return False
        before = dict(self._loaded)
        routing = self._build(deployment, revision, policy)
        self.routing = routing  # one assignment: each request sees the old or the new
        kept = {id(m) for m in routing.models()}
        retired = [m for key, m in before.items() if id(m) not in kept]
        for model in retired:
            self._loaded.pop((model.name, model.version), None)
        log.info(
            "keel serve: now serving %s",
            ", ".join(f"{m.name}/{m.version}" for m in routing.models()),
        )
        for model in retired:
            self._retire(model)
        return True

    def _retire(self, model: ServedModel) -> None:
        """Close ``model`` once the requests that picked it are answered."""
        time.sleep(0.2)  # a request that read the old routing has counted itself by now
        deadline = time.monotonic() + DRAIN_SECONDS
        while (model.in_flight or not model.batcher.idle) and time.monotonic() < deadline:
            time.sleep(0.02)
        model.close()

    # stop ---------------------------------------------------------------------------------

    def stop_polling(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(timeout=30)

    def close(self, timeout: float = 10.0) -> None:
        """Stop polling, flush the prediction log, close every model and the store."""
        self.stop_polling()
        if self.logs.sink is not None:
            try:
                self.logs.sink.close(timeout)
            except Exception as exc:
                log.warning("keel serve: the prediction log did not flush: %s", exc)
        for model in self._loaded.values():
            model.close()
        if self.backend is not None:
            self.backend.close()


def _download_folder(path: Path) -> Path | None:
    """The private folder :func:`keel.registry.loading.load_model` downloaded into."""
    temp = Path(tempfile.gettempdir()).resolve()
    for folder in (path, *path.parents):
        if folder.name.startswith("keel-model-") and folder.parent.resolve() == temp:
            return folder
    return None
