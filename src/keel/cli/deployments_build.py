"""``keel deployments build`` and ``keel deployments manifests``: a Docker build context
and Kubernetes manifests for a model server.

The deployments group (``keel/cli/deployments.py``) adds these with one line::

    deployments_build.register(app)

and ``app`` here holds both, so they also run on their own.
"""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.output import Json, TrackingUri, client, print_json

app = typer.Typer(no_args_is_help=True, add_completion=False)

MODEL_SCHEMES = ("models:/", "runs:/")


def model_uri_of(target: str, tracking_uri: str | None) -> str:
    """The model a build packages: ``target`` when it is a model address, else the model
    the deployment ``target`` serves."""
    if target.startswith(MODEL_SCHEMES):
        return target
    from keel.entities.deployment import check_deployment_name
    from keel.errors import InvalidArgument

    check_deployment_name(target)
    # keel.Client().deployments comes with the deployments package (wt-deployments).
    with client(tracking_uri) as c:
        policy = c.deployments.get(target).policy
    serving = [t for t in policy.live if t.weight > 0]
    if len(serving) != 1:
        shares = ", ".join(f"{t.model_uri} ({t.weight}%)" for t in serving)
        raise InvalidArgument(
            f"deployment {target!r}: splits its traffic between {shares}, and an image holds "
            f"one model; build each: keel deployments build MODEL_URI --name {target} -o DIR"
        )
    model_uri: str = serving[0].model_uri
    return model_uri


def build(
    target: str = typer.Argument(
        ..., help="A deployment name, or a model: models:/NAME@ALIAS, models:/NAME/VERSION."
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for the build context (absent or empty)."
    ),
    name: str = typer.Option(
        None, "--name", help="The deployment's name (default: the deployment, or model-NAME)."
    ),
    base_image: str = typer.Option(
        None, "--base-image", help="Base image pinned by tag or digest (default python:3.X-slim)."
    ),
    port: int = typer.Option(8080, "--port", help="Port the server listens on in the container."),
    tracking_uri: str = TrackingUri,
    as_json: bool = Json,
) -> None:
    """Write a Docker build context: Dockerfile, requirements.txt and the model, its files
    checked against the registered digest. Build it with `docker build -t IMAGE DIR`."""
    from keel.serving.packaging import build_context

    is_model = target.startswith(MODEL_SCHEMES)
    context = build_context(
        model_uri_of(target, tracking_uri),
        output,
        name=name or (None if is_model else target),
        base_image=base_image,
        port=port,
        tracking_uri=tracking_uri,
    )
    if as_json:
        print_json(
            {
                "folder": str(context.folder),
                "name": context.name,
                "model_uri": context.model_uri,
                "model_name": context.model_name,
                "model_version": context.model_version,
                "digest": context.digest,
                "requirements": list(context.requirements),
            }
        )
        return
    typer.echo(f"wrote a build context for {context.name} into {context.folder}")
    typer.echo(f"next: docker build -t REGISTRY/{context.name}:TAG {context.folder}")


def manifests(
    name: str = typer.Argument(..., help="The deployment's name (a Kubernetes name)."),
    image: str = typer.Option(
        ..., "--image", help="The server's image, pinned: registry/name:tag or name@sha256:..."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for the YAML files."),
    replicas: int = typer.Option(2, "--replicas", help="Replicas before the autoscaler acts."),
    cpu: str = typer.Option("500m", "--cpu", help="CPU request per replica."),
    memory: str = typer.Option("1Gi", "--memory", help="Memory request (and limit) per replica."),
    cpu_limit: str = typer.Option(None, "--cpu-limit", help="CPU limit (default: none)."),
    memory_limit: str = typer.Option(
        None, "--memory-limit", help="Memory limit (default: the request)."
    ),
    hpa: str = typer.Option(
        "cpu", "--hpa", help="Autoscale on cpu, rps (requests per second per pod) or none."
    ),
    min_replicas: int = typer.Option(2, "--min-replicas"),
    max_replicas: int = typer.Option(10, "--max-replicas"),
    target_cpu: int = typer.Option(70, "--target-cpu", help="With --hpa cpu: percent of request."),
    target_rps: int = typer.Option(100, "--target-rps", help="With --hpa rps: requests/s per pod."),
    rps_metric: str = typer.Option(
        "keel_requests_per_second", "--rps-metric", help="With --hpa rps: the Pods metric's name."
    ),
    port: int = typer.Option(8080, "--port", help="The container's port (as built)."),
    namespace: str = typer.Option(None, "--namespace", "-n"),
    env: list[str] = typer.Option(
        [], "--env", help="KEY=VALUE set in the container (KEEL_TRACKING_URI=...); repeatable."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace files already there."),
    as_json: bool = Json,
) -> None:
    """Write a Kubernetes Deployment, Service and HorizontalPodAutoscaler for a model
    server image. Apply them with `kubectl apply -f DIR`."""
    from keel.errors import InvalidArgument
    from keel.serving.kubernetes import manifests as make
    from keel.serving.kubernetes import write_manifests

    variables: dict[str, str] = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"env {item!r}: expected KEY=VALUE")
        variables[key] = value
    docs = make(
        name,
        image=image,
        replicas=replicas,
        cpu=cpu,
        memory=memory,
        cpu_limit=cpu_limit,
        memory_limit=memory_limit,
        hpa=hpa,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_cpu_percent=target_cpu,
        target_rps=target_rps,
        rps_metric=rps_metric,
        port=port,
        namespace=namespace,
        env=variables,
    )
    written = write_manifests(docs, output, overwrite=overwrite)
    if as_json:
        print_json({"files": [str(path) for path in written]})
        return
    for path in written:
        typer.echo(f"wrote {path}")


def register(group: typer.Typer) -> None:
    """Add ``build`` and ``manifests`` to ``group`` (the deployments group)."""
    group.command("build")(build)
    group.command("manifests")(manifests)


register(app)
