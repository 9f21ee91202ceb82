"""Container images for a model: ``keel deployments build`` writes a Docker build context.

The context holds the model package (every file checked against the digest registered
for its version as it is downloaded), a ``requirements.txt`` (keel-mlops[serving] and the
model's pinned requirements, each checked as a PEP 508 requirement) and a Dockerfile:
a slim Python base pinned by tag, a non-root user, ``pip install --requirement`` of that
file, the model copied to ``/opt/model`` (owned by root, read-only to the server), and
``keel serve /opt/model``, which checks every file against the package's manifest again
when the container starts. A health check asks ``/v2/health/ready`` with Python's
standard library (the slim image has no curl).

Nothing a user or a model supplies is ever put in a shell: every ``RUN``, ``CMD`` and
``HEALTHCHECK`` is in exec form (a JSON array, run without ``/bin/sh``), names are
checked against strict patterns before they reach the file, and requirements reach pip
as lines of a file, never as words of a command (MLflow's CVE-2025-15379 and
CVE-2026-0596 were requirement strings pasted into a shell command).

>>> build_context("models:/fraud@champion", "build/fraud-api",
...               name="fraud-api")                              # doctest: +SKIP

then ``docker build -t registry.example.com/fraud-api:3 build/fraud-api``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from keel.config import Settings
from keel.entities.deployment import check_deployment_name
from keel.entities.ids import new_id
from keel.errors import AlreadyExists, InvalidArgument
from keel.extras import require
from keel.serving.kubernetes import (
    DEFAULT_PORT,
    RUN_AS,
    check_image,
    check_port,
    manifests,
    write_manifests,
)
from keel.version import DISTRIBUTION, __version__

if TYPE_CHECKING:
    from keel.models import ModelManifest
    from keel.models.trust import ReviewedVersion

MODEL_DIR = "/opt/model"
REQUIREMENTS_PATH = "/opt/keel/requirements.txt"
TMP_DIR = "/tmp"
"""The only folder the server writes to (an emptyDir in Kubernetes: the root is read-only)."""
DEFAULT_BASE = "python:{python}-slim-bookworm"
"""The base image: the Python minor version the model was saved with, slim Debian 12."""
ADD_USER = ("useradd", "--system", "--uid")
ADD_USER_REST = ("--user-group", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                 "/usr/sbin/nologin", "keel")  # fmt: skip
PIP_INSTALL = ("python", "-m", "pip", "install", "--no-cache-dir", "--requirement",
               REQUIREMENTS_PATH)  # fmt: skip
_PYTHON_MINOR = re.compile(r"(3\.\d{1,2})(?:\.\d{1,3})?(?:[a-z]+\d*)?")
_MODEL_SLUG = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class BuildContext:
    """A written build context: ``docker build -t IMAGE folder``."""

    folder: Path
    name: str
    model_uri: str
    model_name: str | None
    model_version: int | None
    digest: str | None
    requirements: tuple[str, ...]

    @property
    def dockerfile(self) -> Path:
        return self.folder / "Dockerfile"


def default_name(model_name: str) -> str:
    """The deployment name a bare model gets: ``model-<name>``, lowercased, every run of
    other characters one '-', cut to a Kubernetes name's 63 characters."""
    slug = _MODEL_SLUG.sub("-", model_name.lower()).strip("-")
    return check_deployment_name(f"model-{slug}"[:63].rstrip("-") or "model")


def check_requirements(lines: Sequence[str], field: str = "requirement") -> tuple[str, ...]:
    """Each line a PEP 508 requirement with no URL and no environment marker (nothing that
    points pip anywhere but the package index), in its normal form."""
    requirements = require(
        "packaging.requirements", extra="serving", purpose="Checking a model's requirements"
    )
    from keel.models.manifest import REQUIREMENT

    checked: list[str] = []
    for line in lines:
        if not isinstance(line, str):
            raise InvalidArgument(f"{field}: must be a string, got {type(line).__name__}")
        try:
            parsed = requirements.Requirement(line)
        except requirements.InvalidRequirement as exc:
            raise InvalidArgument(f"{field} {line!r}: not a PEP 508 requirement ({exc})") from None
        if parsed.url is not None or parsed.marker is not None or not REQUIREMENT.fullmatch(line):
            raise InvalidArgument(
                f"{field} {line!r}: must be a package name, extras and version specifiers "
                "only (no URL, pip option or environment marker)"
            )
        checked.append(str(parsed))
    return tuple(checked)


def base_image_for(manifest: ModelManifest, given: str | None) -> str:
    if given is not None:
        return check_image(given, field="base image")
    match = _PYTHON_MINOR.fullmatch(manifest.python_version)
    python = match.group(1) if match else "3.11"
    return DEFAULT_BASE.format(python=python)


def dockerfile(
    *, base_image: str, port: int, name: str, version: int | None, digest: str | None
) -> str:
    """The Dockerfile text. Every value in it is checked first: ``base_image`` an image
    reference, ``port`` a number, ``name`` a DNS-1123 label, ``digest`` 64 hex characters;
    the commands are JSON arrays (exec form, no shell)."""
    base_image = check_image(base_image, field="base image")
    port = check_port(port)
    name = check_deployment_name(name)
    labels = {"io.keel.deployment": name, "io.keel.keel-version": __version__}
    if version is not None:
        labels["io.keel.model-version"] = str(int(version))
    if digest is not None:
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise InvalidArgument(f"digest {digest!r}: must be 64 lowercase hex characters")
        labels["io.keel.model-digest"] = digest
    ready = f"http://127.0.0.1:{port}/v2/health/ready"
    probe = (
        "import sys, urllib.request; "
        f"sys.exit(0 if urllib.request.urlopen({ready!r}, timeout=3).status == 200 else 1)"
    )
    uid = str(RUN_AS)
    lines = [
        "# syntax=docker/dockerfile:1",
        "# Written by keel deployments build: a model server for one model version.",
        f"FROM {base_image}",
        *(f"LABEL {key}={json.dumps(value)}" for key, value in labels.items()),
        "ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 "
        f"PIP_DISABLE_PIP_VERSION_CHECK=1 KEEL_HOME={TMP_DIR}/keel HOME={TMP_DIR}",
        _exec("RUN", [*ADD_USER, uid, *ADD_USER_REST]),
        f"COPY requirements.txt {REQUIREMENTS_PATH}",
        _exec("RUN", PIP_INSTALL),
        f"COPY model/ {MODEL_DIR}/",
        f"USER {uid}:{uid}",
        f"WORKDIR {TMP_DIR}",
        f"EXPOSE {port}",
        "HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 "
        + _exec("CMD", ["python", "-c", probe]),
        # The pod has no store and no users: it answers anyone who reaches it, so it is
        # reached only inside the cluster (a ClusterIP Service); authentication belongs in
        # front of it (an ingress or a service mesh).
        "# Open inside the cluster: put authentication in front (an ingress, a service mesh).",
        _exec(
            "CMD",
            [
                "keel",
                "serve",
                MODEL_DIR,
                "--host",
                "0.0.0.0",
                "--port",
                str(port),
                "--insecure-no-auth",
            ],
        ),
    ]
    return "\n".join(lines) + "\n"


def _exec(instruction: str, argv: Sequence[str]) -> str:
    """An exec-form instruction: a JSON array, which Docker runs without a shell."""
    return f"{instruction} {json.dumps(list(argv))}"


def build_context(
    model_uri: str,
    out_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    base_image: str | None = None,
    port: int = DEFAULT_PORT,
    keel_requirement: str | None = None,
    tracking_uri: str | None = None,
    settings: Settings | None = None,
) -> BuildContext:
    """Write a Docker build context for the model ``model_uri`` names into ``out_dir``
    (absent or empty; written beside it first and renamed into place).

    ``name``: the deployment's name (default ``model-<model name>``). ``base_image``: an
    image reference pinned by tag or digest (default: ``python:<the model's
    3.X>-slim-bookworm``). ``keel_requirement``: how the image gets Keel (default
    ``keel-mlops[serving]==<this version>``)."""
    from keel.registry.loading import ModelSource
    from keel.serving.batch import tracking_uri_of
    from keel.store import open_backend

    settings = settings or Settings.from_env()
    port = check_port(port)
    if name is not None:
        check_deployment_name(name)
    target = Path(out_dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(f"output {str(target)!r}: exists and is not an empty folder")
    keel = check_requirements(
        [keel_requirement or f"{DISTRIBUTION}[serving]=={__version__}"], "keel requirement"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{new_id()[:12]}"
    staging.mkdir()
    try:
        with open_backend(tracking_uri_of(tracking_uri, settings), settings) as backend:
            source = ModelSource(backend.registry, backend.artifacts)
            where = source.locate(model_uri)
            package = source.download(where.source, staging / "pkg")
        reviewed = where.version
        manifest = _verified_manifest(package, reviewed)
        package.rename(staging / "model")
        if package.parent != staging:
            shutil.rmtree(staging / "pkg", ignore_errors=True)
        model_name = None if reviewed is None else reviewed.name
        chosen = name or default_name(model_name or where.source.path.rsplit("/", 1)[-1])
        model_requirements = check_requirements(manifest.requirements)
        wanted = (*keel, *(r for r in model_requirements if not _is_keel(r)))
        (staging / "requirements.txt").write_text("\n".join(wanted) + "\n", encoding="utf-8")
        (staging / "Dockerfile").write_text(
            dockerfile(
                base_image=base_image_for(manifest, base_image),
                port=port,
                name=chosen,
                version=None if reviewed is None else reviewed.version,
                digest=None if reviewed is None else reviewed.digest.removeprefix("blake3:"),
            ),
            encoding="utf-8",
        )
        (staging / ".dockerignore").write_text("*\n!Dockerfile\n!requirements.txt\n!model/\n")
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return BuildContext(
        folder=target,
        name=chosen,
        model_uri=model_uri,
        model_name=model_name,
        model_version=None if reviewed is None else reviewed.version,
        digest=None if reviewed is None else reviewed.digest,
        requirements=wanted,
    )


def _verified_manifest(package: Path, reviewed: ReviewedVersion | None) -> ModelManifest:
    """The package's manifest, its digest the one registered for the version (what
    ``keel models download`` checks), and every file the manifest lists unchanged."""
    from keel.artifacts.hashing import hash_stream
    from keel.errors import CorruptData
    from keel.models import MANIFEST_NAME, files, read_manifest

    if reviewed is not None:
        with open(package / MANIFEST_NAME, "rb") as stream:
            digest, _ = hash_stream(stream)
        if f"blake3:{digest}" != reviewed.digest:
            raise CorruptData(
                f"model {reviewed.name}/{reviewed.version}: its package changed since it was "
                f"registered (registered {reviewed.digest}, now blake3:{digest})"
            )
    manifest = read_manifest(package)  # checks every field, before any is used
    files.verify(package, manifest.files)
    return manifest


def _is_keel(requirement: str) -> bool:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    return canonicalize_name(Requirement(requirement).name) == canonicalize_name(DISTRIBUTION)


__all__ = [
    "BuildContext",
    "build_context",
    "check_requirements",
    "default_name",
    "dockerfile",
    "manifests",
    "write_manifests",
]
