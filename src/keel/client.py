"""``keel.Client``: the one place the sub-clients are assembled.

A client opens what its tracking URI gives once (:func:`keel.store.open_backend`: one
engine, or one HTTP session) and hands each part only what it uses: tracking gets the
tracking store and the artifact repository; the registry gets the registry store and
the artifact reader; datasets get the dataset store and this machine's cache;
deployments get the deployment service (or the server's routes) and the registry. Models
are logged through tracking and loaded through the registry.

>>> client = keel.Client("/tmp/keel-demo")                          # doctest: +SKIP
>>> run = client.create_run(client.create_experiment("demo"))       # doctest: +SKIP
>>> client.log_metric(run.run_id, "loss", 0.25, step=1)              # doctest: +SKIP
>>> client.registry.search_registered_models()                      # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.entities.paths import safe_artifact_path
from keel.registry.mlflow_names import MlflowRegistryMethods
from keel.tracking.client import TrackingClient
from keel.uri import RunArtifactUri

if TYPE_CHECKING:
    from keel.data.client import DataClient
    from keel.deployments import DeploymentClient
    from keel.entities.dataset import DatasetVersion
    from keel.models import LoadedModel
    from keel.models.log_options import LogOptions
    from keel.models.logged import LoggedModel
    from keel.monitoring.service import MonitorsApi
    from keel.registry import RegistryClient


class Client(TrackingClient, MlflowRegistryMethods):
    """Every operation by id: tracking (this class's own methods), :attr:`registry`,
    :attr:`data`, and models logged to runs and loaded by address. MLflow's registry
    calls work on the client itself too, by their MLflow names
    (``set_registered_model_alias``, ``search_model_versions``...: see
    :mod:`keel.registry.mlflow_names`).

    ``tracking_uri`` defaults to what ``keel.set_tracking_uri`` set, then
    ``KEEL_TRACKING_URI``, then the embedded store; ``backend=`` hands in stores already
    open (the client closes them)."""

    _registry: RegistryClient | None = None
    _data: DataClient | None = None
    _monitors: MonitorsApi | None = None
    _deployments: DeploymentClient | None = None

    def close(self) -> None:
        if self._data is not None:
            self._data.close()
        super().close()

    @property
    def registry(self) -> RegistryClient:
        """The model registry of the same store (opened on first use)."""
        if self._registry is None:
            from keel.registry import RegistryClient

            self._registry = RegistryClient(
                self.backend,
                actor=self.user or "anonymous",
                settings=self.settings,
                before_register=self.flush,  # the run and its model may still be on their way
            )
        return self._registry

    @property
    def data(self) -> DataClient:
        """Dataset versions in the same store, bytes in this machine's cache."""
        if self._data is None:
            from keel.data.client import dataset_objects, open_data_client

            backend = self.backend
            self._data = open_data_client(
                self.settings.with_tracking_uri(self.tracking_uri),
                lambda: backend.datasets,
                actor=self.user or "anonymous",
                remote=lambda: dataset_objects(backend),
                push_on_add=backend.remote,
                store_key=self._store_key,
            )
        return self._data

    @property
    def monitors(self) -> MonitorsApi:
        """Monitors of the same store: kept and run by a ``keel server`` when the tracking
        URI is one, else on this store's database."""
        if self._monitors is None:
            if self.backend.remote:
                self._monitors = self.backend.monitors_api
            else:
                from keel.monitoring.service import open_monitors

                self._monitors = open_monitors(
                    self.backend,
                    self.settings.with_tracking_uri(self.tracking_uri),
                    actor=self.user or "anonymous",
                )
        return self._monitors

    @property
    def deployments(self) -> DeploymentClient:
        """Deployments in the same store: create, set traffic, promote, roll back."""
        if self._deployments is None:
            from keel.deployments import open_deployments

            self._deployments = open_deployments(self.backend, actor=self.user or "anonymous")
        return self._deployments

    def log_dataset(
        self,
        run_id: str,
        data: Any,
        *,
        name: str,
        context: str = "training",
        description: str = "",
    ) -> DatasetVersion:
        """Version ``data`` (a pandas or polars DataFrame, or a path) and record it as an
        input of the run; a DataFrame is stored as Parquet."""
        from keel.data.run_inputs import log_dataset

        return log_dataset(
            self.data, run_id, data, name=name, context=context, description=description
        )

    def log_model(
        self, run_id: str, model: Any, name: str | None = None, **options: Any
    ) -> LoggedModel:
        """Save ``model`` as a Keel model package (flavor detected; ``signature``,
        ``input_example``, ``requirements``, ``serialization``, ``metadata``, ``onnx`` as in
        :func:`keel.models.save_model`) into the run's artifacts, in the folder ``name``
        (default ``model``). MLflow's keywords work too: ``artifact_path`` (an alias of
        ``name``), ``pip_requirements``, ``extra_pip_requirements``, and
        ``registered_model_name``, which registers the logged package as the next version
        of that model. An unknown keyword is refused before anything is written."""
        from keel.models.log_options import LogOptions

        return self._log_model(run_id, model, LogOptions.parse(name, options))

    def _log_model(self, run_id: str, model: Any, options: LogOptions) -> LoggedModel:
        from keel.models import save_model
        from keel.models.logged import LoggedModel

        path = safe_artifact_path(options.name, field="name")
        with tempfile.TemporaryDirectory(prefix="keel-model-") as tmp:
            folder = Path(tmp) / "model"
            manifest = save_model(model, folder, source_run_id=run_id, **options.save)
            self.log_artifacts(run_id, folder, path)
        uri = str(RunArtifactUri(run_id, path))
        version = None
        if options.registered_model_name is not None:
            version = self.registry.register_model(uri, options.registered_model_name).version
        return LoggedModel(uri, run_id, path, manifest, registered_model_version=version)

    def load_model(
        self, uri: str, *, trust: bool = False, flavor: str | None = None
    ) -> LoadedModel:
        """Load a model by ``models:/<name>/<version>``, ``models:/<name>@<alias>`` or
        ``runs:/<run_id>/<path>``, every file checked against its digest; pickle-based
        formats need ``trust=True`` (or the source in ``KEEL_TRUSTED_MODEL_SOURCES``);
        ``flavor`` as in :func:`keel.models.load_model`."""
        self.flush()  # the run and its model may still be on their way
        return self.registry.load_model(uri, trust=trust, flavor=flavor)


__all__ = ["Client"]
