"""Kubernetes manifests for a model server: ``keel deployments manifests fraud-api``.

A Deployment (probes on ``/v2/health/live`` and ``/v2/health/ready``, resource requests
and limits, a non-root, read-only, unprivileged container with an emptyDir at ``/tmp``),
a Service, and a HorizontalPodAutoscaler (``autoscaling/v2``) on CPU utilisation or on
requests per second (a Pods metric, served to Kubernetes by a metrics adapter such as
prometheus-adapter from the server's ``/metrics``).

Every value is checked before it is written (names are DNS-1123 labels, quantities are
Kubernetes quantities, the image a pinned reference), and the YAML is written by
``yaml.safe_dump``: no value is pasted into text.

>>> docs = manifests("fraud-api", image="registry.example.com/fraud-api:3", hpa="rps")
>>> [d["kind"] for d in docs]
['Deployment', 'Service', 'HorizontalPodAutoscaler']
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keel.entities.deployment import check_deployment_name
from keel.errors import AlreadyExists, InvalidArgument
from keel.extras import require

DEFAULT_PORT = 8080
RUN_AS = 10001
"""The image's user and group id (numeric, so that ``runAsNonRoot`` can verify it)."""
HPA_KINDS = ("cpu", "rps", "none")
DEFAULT_RPS_METRIC = "keel_requests_per_second"
FILES = ("deployment.yaml", "service.yaml", "hpa.yaml")

_QUANTITY = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[KMGTPE]i|[mkMGTPE])?")
_IMAGE = re.compile(
    r"(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::\d{1,5})?/)?"  # registry host[:port]/
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?P<tag>:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?P<digest>@sha256:[0-9a-f]{64})?"
)
_METRIC = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,127}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def check_image(value: object, field: str = "image") -> str:
    """An image reference pinned by a tag or a digest (``registry/name:tag``,
    ``name@sha256:...``), never ``latest`` or a bare name."""
    if not isinstance(value, str) or len(value) > 512:
        raise InvalidArgument(f"{field}: must be a string of at most 512 characters")
    match = _IMAGE.fullmatch(value)
    if match is None:
        raise InvalidArgument(
            f"{field} {value!r}: not an image reference (registry/name:tag or "
            "name@sha256:<64 hex>; lowercase name, no spaces or quotes)"
        )
    if match.group("digest") is None and match.group("tag") in (None, ":latest"):
        raise InvalidArgument(
            f"{field} {value!r}: pin it by a tag other than latest, or by @sha256:<digest>, "
            "so that every replica runs the same image"
        )
    return value


def check_port(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1024 <= value <= 65535:
        raise InvalidArgument(
            f"port: must be a whole number from 1024 to 65535 (the server is not root), "
            f"got {value!r}"
        )
    return value


def check_quantity(value: object, field: str) -> str:
    if not isinstance(value, str) or not _QUANTITY.fullmatch(value) or not _positive(value):
        raise InvalidArgument(
            f"{field} {value!r}: must be a positive Kubernetes quantity (500m, 2, 512Mi, 1Gi)"
        )
    return value


def _positive(quantity: str) -> bool:
    digits = re.match(r"[\d.]+", quantity)
    return digits is not None and float(digits.group(0)) > 0


def _count(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(
            f"{field}: must be a whole number from {low} to {high}, got {value!r}"
        )
    return value


def manifests(
    name: str,
    *,
    image: str,
    replicas: int = 2,
    cpu: str = "500m",
    memory: str = "1Gi",
    cpu_limit: str | None = None,
    memory_limit: str | None = None,
    hpa: str = "cpu",
    min_replicas: int = 2,
    max_replicas: int = 10,
    target_cpu_percent: int = 70,
    target_rps: int = 100,
    rps_metric: str = DEFAULT_RPS_METRIC,
    port: int = DEFAULT_PORT,
    namespace: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The Deployment, Service and (unless ``hpa="none"``) HorizontalPodAutoscaler for the
    model server ``name`` running ``image``.

    ``cpu``/``memory``: requests; limits default to the memory request (a pod over it is
    restarted rather than starving its node) and no CPU limit unless given. ``hpa``:
    ``cpu`` scales on CPU utilisation (``target_cpu_percent`` of the request), ``rps`` on
    the Pods metric ``rps_metric`` averaged over pods (``target_rps`` per pod)."""
    name = check_deployment_name(name)
    image = check_image(image)
    port = check_port(port)
    if namespace is not None:
        check_deployment_name(namespace, "namespace")
    if hpa not in HPA_KINDS:
        raise InvalidArgument(f"hpa: must be one of {', '.join(HPA_KINDS)}, got {hpa!r}")
    replicas = _count(replicas, "replicas", 1, 1000)
    requests = {"cpu": check_quantity(cpu, "cpu"), "memory": check_quantity(memory, "memory")}
    limits = {"memory": check_quantity(memory_limit or memory, "memory limit")}
    if cpu_limit is not None:
        limits["cpu"] = check_quantity(cpu_limit, "cpu limit")
    labels = {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": "model-server",
        "app.kubernetes.io/managed-by": "keel",
    }
    selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/component": "model-server"}
    metadata: dict[str, Any] = {"name": name, "labels": labels}
    if namespace is not None:
        metadata["namespace"] = namespace
    docs = [
        _deployment(metadata, selector, labels, image, port, replicas, requests, limits, env),
        _service(metadata, selector, port),
    ]
    if hpa != "none":
        low = _count(min_replicas, "min replicas", 1, 1000)
        high = _count(max_replicas, "max replicas", 1, 1000)
        if low > high:
            raise InvalidArgument(f"min replicas ({low}) must not exceed max replicas ({high})")
        if hpa == "cpu":
            metric = _cpu_metric(_count(target_cpu_percent, "target cpu percent", 1, 1000))
        else:
            metric = _rps_metric(rps_metric, _count(target_rps, "target rps", 1, 10_000_000))
        docs.append(_autoscaler(metadata, name, low, high, metric))
    return docs


def _container_env(env: Mapping[str, str] | None) -> list[dict[str, str]]:
    values = {"KEEL_HOME": "/tmp/keel", "HOME": "/tmp", **(env or {})}
    out = []
    for key, value in values.items():
        if not isinstance(key, str) or not _ENV_NAME.fullmatch(key):
            raise InvalidArgument(f"env {key!r}: a variable name is letters, digits and '_'")
        if not isinstance(value, str) or len(value) > 32_768:
            raise InvalidArgument(f"env {key}: must be a string of at most 32 KiB")
        out.append({"name": key, "value": value})
    return out


def _deployment(
    metadata: dict[str, Any],
    selector: dict[str, str],
    labels: dict[str, str],
    image: str,
    port: int,
    replicas: int,
    requests: dict[str, str],
    limits: dict[str, str],
    env: Mapping[str, str] | None,
) -> dict[str, Any]:
    def probe(path: str, period: int, failures: int) -> dict[str, Any]:
        return {
            "httpGet": {"path": path, "port": "http"},
            "periodSeconds": period,
            "timeoutSeconds": 3,
            "failureThreshold": failures,
        }

    container = {
        "name": "model-server",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "env": _container_env(env),
        "resources": {"requests": requests, "limits": limits},
        # The model loads before ready answers: up to 5 minutes before liveness counts.
        "startupProbe": probe("/v2/health/ready", 5, 60),
        "livenessProbe": probe("/v2/health/live", 10, 3),
        "readinessProbe": probe("/v2/health/ready", 5, 2),
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "privileged": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    # keel serve drains in-flight requests on SIGTERM.
                    "terminationGracePeriodSeconds": 30,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUN_AS,
                        "runAsGroup": RUN_AS,
                        "fsGroup": RUN_AS,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                },
            },
        },
    }


def _service(metadata: dict[str, Any], selector: dict[str, str], port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata,
        "spec": {
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def _cpu_metric(percent: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": percent},
        },
    }


def _rps_metric(metric: str, per_pod: int) -> dict[str, Any]:
    if not isinstance(metric, str) or not _METRIC.fullmatch(metric):
        raise InvalidArgument(
            f"rps metric {metric!r}: must be a metric name ([a-zA-Z_][a-zA-Z0-9_]*)"
        )
    return {
        "type": "Pods",
        "pods": {
            "metric": {"name": metric},
            "target": {"type": "AverageValue", "averageValue": str(per_pod)},
        },
    }


def _autoscaler(
    metadata: dict[str, Any], name: str, low: int, high: int, metric: dict[str, Any]
) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [metric],
        },
    }


def write_manifests(
    docs: list[dict[str, Any]], out_dir: str | os.PathLike[str], *, overwrite: bool = False
) -> list[Path]:
    """Write each document as YAML into ``out_dir`` (``deployment.yaml``,
    ``service.yaml``, ``hpa.yaml``), for ``kubectl apply -f out_dir``."""
    yaml = require("yaml", extra="serving", purpose="Writing Kubernetes manifests")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    by_kind = dict(zip(("Deployment", "Service", "HorizontalPodAutoscaler"), FILES, strict=True))
    written = []
    for doc in docs:
        path = folder / by_kind[doc["kind"]]
        if path.exists() and not overwrite:
            raise AlreadyExists(
                f"output {str(path)!r}: already exists; pass overwrite to replace it"
            )
        text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
        written.append(path)
    return written
