"""MLflow's ``MlflowClient`` registry calls, by their MLflow names, on ``keel.Client``.

MLflow keeps tracking and registry calls on one client, so a migrating script calls
``client.set_registered_model_alias(name, "champion", 1)`` where Keel's own spelling is
``client.registry.set_alias(name, "champion", 1)``. Each method here forwards to
:class:`~keel.registry.RegistryClient`; nothing is decided here. Versions are taken as
MLflow takes them, ``1`` or ``"1"``.

>>> client = keel.Client()                                                  # doctest: +SKIP
>>> client.set_registered_model_alias("fraud", "champion", "3")             # doctest: +SKIP
>>> client.get_model_version_by_alias("fraud", "champion").version          # doctest: +SKIP
3
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from keel.errors import InvalidArgument

if TYPE_CHECKING:
    from keel.entities.registry import (
        ModelVersion,
        ModelVersionPage,
        RegisteredModel,
        RegisteredModelPage,
    )
    from keel.registry.client import RegistryClient

# The one filter MLflow scripts pass to search_model_versions: name = '<model>'.
_NAME_FILTER = re.compile(r"\s*name\s*=\s*(['\"])(?P<name>.+)\1\s*")
_LIKE_FILTER = re.compile(r"\s*name\s+(?:I?LIKE)\s+(['\"])(?P<pattern>.+)\1\s*", re.IGNORECASE)


def version_number(version: int | str, *, field: str = "version") -> int:
    """``3`` or ``"3"`` as MLflow accepts either; anything else is refused."""
    if isinstance(version, bool):
        raise InvalidArgument(f"{field}: must be a positive integer, got {version!r}")
    if isinstance(version, int):
        number = version
    elif isinstance(version, str) and version.strip().isdigit():
        number = int(version.strip())
    else:
        raise InvalidArgument(f"{field}: must be a positive integer, got {version!r}")
    if number < 1:
        raise InvalidArgument(f"{field}: must be a positive integer, got {version!r}")
    return number


class MlflowRegistryMethods:
    """The registry half of MLflow's ``MlflowClient``, mixed into ``keel.Client``."""

    @property
    def registry(self) -> RegistryClient:
        raise NotImplementedError  # keel.Client provides it

    # registered models ---------------------------------------------------------------

    def create_registered_model(
        self,
        name: str,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
    ) -> RegisteredModel:
        return self.registry.create_registered_model(name, description=description or "", tags=tags)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.registry.get_registered_model(name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        """Set the description (None, as in MLflow: change nothing)."""
        if description is None:
            return self.registry.get_registered_model(name)
        return self.registry.update_registered_model(name, description=description)

    def delete_registered_model(self, name: str) -> None:
        self.registry.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RegisteredModelPage:
        """``filter_string``: ``name = 'x'`` or ``name LIKE 'x%'`` (MLflow's common forms)."""
        from keel.entities.registry import RegisteredModelPage
        from keel.errors import NotFound

        if not filter_string:
            return self.registry.search_registered_models(
                max_results=max_results, page_token=page_token
            )
        exact = _NAME_FILTER.fullmatch(filter_string)
        if exact is not None:  # one name: no wildcard, case kept
            try:
                return RegisteredModelPage([self.get_registered_model(exact.group("name"))])
            except NotFound:
                return RegisteredModelPage()
        like = _LIKE_FILTER.fullmatch(filter_string)
        if like is None:
            raise InvalidArgument(
                f"filter_string {filter_string!r}: registered models are filtered by "
                "name = '<name>' or name LIKE '<pattern>'"
            )
        return self.registry.search_registered_models(
            like.group("pattern"), max_results=max_results, page_token=page_token
        )

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self.registry.set_registered_model_tag(name, key, value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry.delete_registered_model_tag(name, key)

    # versions ------------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        """Register the package at ``source`` (``runs:/<run_id>/<path>``) as the next
        version of ``name``; ``run_id``, when given, must be the run ``source`` names."""
        from keel.uri import parse_run_artifact_uri

        del run_link  # MLflow shows it in its UI; Keel links every version to its run
        owner = parse_run_artifact_uri(source).run_id
        if run_id is not None and run_id != owner:  # checked before anything is written
            raise InvalidArgument(f"run_id {run_id!r}: source {source!r} belongs to run {owner}")
        return self.registry.register_model(source, name, description=description or "", tags=tags)

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        return self.registry.get_model_version(name, version_number(version))

    def update_model_version(
        self, name: str, version: int | str, description: str | None = None
    ) -> ModelVersion:
        return self.registry.update_model_version(
            name, version_number(version), description=description
        )

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> ModelVersionPage:
        """The versions of one model, newest first: ``filter_string`` is
        ``name = '<model>'``, the form MLflow's examples use."""
        match = _NAME_FILTER.fullmatch(filter_string or "")
        if match is None:
            raise InvalidArgument(
                f"filter_string {filter_string!r}: model versions are searched by "
                "name = '<model name>'"
            )
        if order_by:
            raise InvalidArgument(
                f"order_by {list(order_by)!r}: model versions come newest first; pass order_by=None"
            )
        return self.registry.search_model_versions(
            match.group("name"), max_results=max_results, page_token=page_token
        )

    def get_latest_versions(
        self, name: str, stages: Sequence[str] | None = None
    ) -> list[ModelVersion]:
        return self.registry.get_latest_versions(name, stages)

    def set_model_version_tag(self, name: str, version: int | str, key: str, value: str) -> None:
        self.registry.set_model_version_tag(name, version_number(version), key, value)

    def delete_model_version_tag(self, name: str, version: int | str, key: str) -> None:
        self.registry.delete_model_version_tag(name, version_number(version), key)

    def transition_model_version_stage(
        self, name: str, version: int | str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """Refused: Keel has no stages (MLflow deprecated them); the error says what to
        use instead."""
        raise InvalidArgument(
            f"stage {stage!r}: Keel has no model stages (MLflow deprecated them); point an "
            f"alias at the version instead: client.set_registered_model_alias({name!r}, "
            f"{stage.lower()!r}, {version_number(version)}), then load "
            f"models:/{name}@{stage.lower()}"
        )

    # aliases -------------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        self.registry.set_alias(name, alias, version_number(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry.delete_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.registry.get_model_version_by_alias(name, alias)


__all__ = ["MlflowRegistryMethods", "version_number"]
