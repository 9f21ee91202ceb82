"""``keel deployments``: create a deployment, split its traffic, promote, roll back.

    keel deployments create fraud-api --model models:/fraud@champion
    keel deployments set-traffic fraud-api models:/fraud/3=90 models:/fraud/4=10
    keel deployments promote fraud-api          # the canary takes all live traffic
    keel deployments rollback fraud-api         # back to the policy before, audited

Every change prints the new revision; ``--expected-revision N`` refuses it (409) when
someone else changed the deployment since you read revision N.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from keel.cli import deployments_build
from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when

if TYPE_CHECKING:
    from keel.deployments import DeploymentClient
    from keel.entities.deployment import Deployment, TrafficPolicy

app = typer.Typer(
    help="Deployments: traffic policies over registered models (canary, shadow, A/B).",
    no_args_is_help=True,
)

ExpectedRevision = typer.Option(
    None,
    "--expected-revision",
    help="Refuse the change unless the deployment is still at this revision.",
)
Shadows = typer.Option(
    [], "--shadow", help="A model that gets a copy of every request (answers logged only)."
)


def _deployments(tracking_uri: str | None) -> DeploymentClient:
    found: DeploymentClient = client(tracking_uri).deployments
    return found


def _changed(found: Deployment, json: bool) -> None:
    if json:
        print_json(found.to_dict())
        return
    typer.echo(f"{found.name} revision {found.revision}: {_traffic(found.policy)}")


def _traffic(policy: TrafficPolicy) -> str:
    """``models:/fraud/3 90%, models:/fraud/4 10% (shadow: models:/fraud/5)``"""
    text = ", ".join(f"{t.model_uri} {t.weight}%" for t in policy.live)
    if policy.shadows:
        text += " (shadow: " + ", ".join(t.model_uri for t in policy.shadows) + ")"
    return text


def parse_weights(pairs: list[str]) -> dict[str, int]:
    """``["models:/fraud/3=90", "models:/fraud/4=10"]`` as ``{uri: weight}``."""
    from keel.errors import InvalidArgument

    weights: dict[str, int] = {}
    for pair in pairs:
        uri, sep, weight = pair.rpartition("=")
        if not sep or not uri or not weight.strip().isdigit():
            raise InvalidArgument(
                f"traffic {pair!r}: must be URI=PERCENT, such as models:/fraud/3=90"
            )
        if uri in weights:
            raise InvalidArgument(f"traffic: {uri} given twice")
        weights[uri] = int(weight)
    return weights


@app.command("create")
def create(
    name: str = typer.Argument(..., help="1 to 63 lowercase letters, digits and '-'."),
    model: str = typer.Option(..., "--model", help="models:/NAME@ALIAS or models:/NAME/VERSION."),
    canary: str = typer.Option(None, "--canary", help="A second model taking --weight percent."),
    weight: int = typer.Option(None, "--weight", help="The canary's percent of live traffic."),
    shadow: list[str] = Shadows,
    sticky_key: str = typer.Option(
        None, "--sticky-key", help="A request header whose value always meets the same model."
    ),
    sampling: float = typer.Option(1.0, "--sampling", help="Share of predictions logged, 0-1."),
    description: str = typer.Option("", "--description"),
    project: str = typer.Option(None, "--project", help="The project to make it in."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Create deployment NAME sending traffic to --model (and a --canary, --shadow)."""
    from keel.entities.deployment import weighted_policy
    from keel.errors import InvalidArgument

    if (canary is None) != (weight is None):
        raise InvalidArgument("--canary and --weight: give both (the canary and its percent)")
    weights = {model: 100} if canary is None else {model: 100 - weight, canary: weight}
    if canary is not None and not 0 < weight < 100:
        raise InvalidArgument(f"--weight: the canary's percent must be 1 to 99, got {weight}")
    policy = weighted_policy(weights, shadows=shadow, sticky_key=sticky_key, sampling=sampling)
    found = _deployments(tracking_uri).create(
        name, policy=policy, description=description, project=project
    )
    _changed(found, json)


@app.command("list")
def list_deployments(json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """Every deployment you may read: its revision and live traffic."""
    found = _deployments(tracking_uri).list()
    if json:
        print_json({"deployments": [d.to_dict() for d in found]})
        return
    print_table(
        None,
        ["name", "revision", "updated", "traffic"],
        [(d.name, d.revision, when(d.updated_at), _traffic(d.policy)) for d in found],
    )


@app.command("show")
def show(
    name: str = typer.Argument(...), json: bool = Json, tracking_uri: str = TrackingUri
) -> None:
    """The policy of NAME, with the version each target resolves to now."""
    deployments = _deployments(tracking_uri)
    found = deployments.get(name)
    resolved = deployments.resolve(found)
    if json:
        versions = {uri: (v.version if v else None) for uri, v in resolved.items()}
        print_json({**found.to_dict(), "resolved": versions})
        return
    policy = found.policy
    typer.echo(
        f"{found.name}  revision {found.revision}  updated {when(found.updated_at)}  "
        f"created by {found.created_by}"
    )
    if found.description:
        typer.echo(found.description)
    extras = [f"sampling {policy.sampling:g}"]
    if policy.sticky_key:
        extras.append(f"sticky key {policy.sticky_key}")
    typer.echo(", ".join(extras))
    rows: list[tuple[Any, ...]] = []
    for target in policy.targets:
        version = resolved[target.model_uri]
        rows.append(
            (
                "shadow" if target.shadow else "live",
                target.model_uri,
                f"{target.weight}%",
                version.version if version else "does not resolve",
            )
        )
    print_table(None, ["role", "model", "weight", "version"], rows)


@app.command("set-traffic")
def set_traffic(
    name: str = typer.Argument(...),
    weights: list[str] = typer.Argument(..., help="URI=PERCENT for each live model."),
    shadow: list[str] = Shadows,
    sticky_key: str = typer.Option(None, "--sticky-key", help="Default: as it is."),
    sampling: float = typer.Option(None, "--sampling", help="Default: as it is."),
    expected_revision: int = ExpectedRevision,
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Set NAME's live traffic (URI=90 URI=10) and shadows, as a new revision."""
    options: dict[str, Any] = {}
    if sticky_key is not None:
        options["sticky_key"] = sticky_key
    if sampling is not None:
        options["sampling"] = sampling
    found = _deployments(tracking_uri).set_traffic(
        name,
        parse_weights(weights),
        shadows=shadow,
        expected_revision=expected_revision,
        **options,
    )
    _changed(found, json)


@app.command("promote")
def promote(
    name: str = typer.Argument(...),
    model: str = typer.Option(
        None, "--model", help="The target to take all live traffic (default: the canary)."
    ),
    expected_revision: int = ExpectedRevision,
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Give all live traffic to --model or the canary; other live models go, shadows stay."""
    found = _deployments(tracking_uri).promote(name, model, expected_revision=expected_revision)
    _changed(found, json)


@app.command("rollback")
def rollback(
    name: str = typer.Argument(...),
    expected_revision: int = ExpectedRevision,
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Return NAME to the policy before its last change, as a new revision."""
    found = _deployments(tracking_uri).rollback(name, expected_revision=expected_revision)
    _changed(found, json)


@app.command("history")
def history(
    name: str = typer.Argument(...), json: bool = Json, tracking_uri: str = TrackingUri
) -> None:
    """Every revision of NAME's policy, newest first: what, who, when."""
    found = _deployments(tracking_uri).history(name)
    if json:
        print_json({"revisions": [r.to_dict() for r in found]})
        return
    print_table(
        None,
        ["revision", "action", "by", "at", "traffic"],
        [
            (
                r.revision,
                r.action.value,
                r.actor,
                when(r.at),
                _traffic(r.policy),
            )
            for r in found
        ],
    )


@app.command("delete")
def delete(
    name: str = typer.Argument(...),
    expected_revision: int = ExpectedRevision,
    tracking_uri: str = TrackingUri,
) -> None:
    """Delete NAME and its history (the audit log keeps every change)."""
    _deployments(tracking_uri).delete(name, expected_revision=expected_revision)
    typer.echo(f"deleted deployment {name}")


# `keel deployments build` and `keel deployments manifests`: containers and Kubernetes.
deployments_build.register(app)
