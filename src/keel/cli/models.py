"""``keel models``: the model registry from the command line.

A model is named ``NAME``, one of its versions ``NAME/3`` or ``NAME@champion`` (the
``models:/`` URI without its scheme). Aliases live in ``keel models alias``, promotion
requests in ``keel models promote``.
"""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Any

import typer

from keel.cli import models_aliases, models_audit, models_promotions, models_review
from keel.cli.output import Json, TrackingUri, client, print_json, print_table, when

app = typer.Typer(
    help="Register model versions, move aliases, review promotions, read the audit trail.",
    no_args_is_help=True,
)
app.add_typer(models_aliases.app, name="alias")
app.add_typer(models_promotions.app, name="promote")
app.command("audit")(models_audit.audit)
app.command("validate")(models_review.validate)
app.command("card")(models_review.card)


def resolve_version(registry: Any, ref: str) -> Any:
    """The version ``NAME/VERSION``, ``NAME/latest`` or ``NAME@ALIAS`` names."""
    from keel.errors import InvalidArgument

    if "/" not in ref and "@" not in ref:
        raise InvalidArgument(
            f"model {ref!r}: name a version, NAME/VERSION, NAME/latest or NAME@ALIAS"
        )
    return registry.resolve(f"models:/{ref}")


@app.command("list")
def list_models(
    name_like: str = typer.Option(None, "--name-like", help="SQL LIKE pattern, e.g. 'fraud%'."),
    max_results: int = typer.Option(100, "--max-results", "-n"),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """List registered models with their aliases and latest version."""
    from keel.wire.models import model_to_dict

    registry = client(tracking_uri).registry
    page = registry.search_registered_models(name_like, max_results=max_results)
    latest = {}
    for m in page.models:
        versions = registry.search_model_versions(m.name, max_results=1).versions
        latest[m.name] = versions[0].version if versions else None
    if json:
        models = [{**model_to_dict(m), "latest_version": latest[m.name]} for m in page.models]
        print_json({"models": models, "next_page_token": page.next_page_token})
        return
    print_table(
        None,
        ["name", "latest", "aliases", "updated", "description"],
        [
            (
                m.name,
                latest[m.name],
                _aliases(m.aliases),
                when(m.updated),
                _first_line(m.description),
            )
            for m in page.models
        ],
    )
    if page.next_page_token:
        typer.echo("more models: narrow with --name-like or raise --max-results")


@app.command("show")
def show(
    ref: str = typer.Argument(..., metavar="NAME[/VERSION|/latest|@ALIAS]"),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Show a model (with its versions) or one version (with its checks)."""
    registry = client(tracking_uri).registry
    if "/" in ref or "@" in ref:
        _show_version(registry, resolve_version(registry, ref), json)
    else:
        _show_model(registry, ref, json)


def _show_model(registry: Any, name: str, json: bool) -> None:
    from keel.wire.models import model_to_dict, version_to_dict

    model = registry.get_registered_model(name)
    versions = registry.search_model_versions(name, max_results=1000).versions
    if json:
        print_json({**model_to_dict(model), "versions": [version_to_dict(v) for v in versions]})
        return
    typer.echo(f"model        {model.name}")
    typer.echo(f"description  {_first_line(model.description)}")
    typer.echo(f"tags         {_pairs(model.tags)}")
    typer.echo(f"aliases      {_aliases(model.aliases)}")
    print_table(
        "versions",
        ["version", "status", "aliases", "created", "created by", "source"],
        [
            (
                v.version,
                v.status,
                ", ".join(v.aliases),
                when(v.created),
                v.created_by,
                v.source,
            )
            for v in versions
        ],
    )


def _show_version(registry: Any, version: Any, json: bool) -> None:
    from keel.wire.governance import check_to_dict
    from keel.wire.models import version_to_dict

    checks = registry.list_checks(version.name, version.version)
    if json:
        print_json({**version_to_dict(version), "checks": [check_to_dict(c) for c in checks]})
        return
    for label, value in (
        ("model", f"{version.name}/{version.version}"),
        ("status", version.status),
        ("source", version.source),
        ("run", version.run_id),
        ("content hash", version.content_hash),
        ("aliases", ", ".join(version.aliases)),
        ("tags", _pairs(version.tags)),
        ("created", f"{when(version.created)} by {version.created_by}"),
        ("description", _first_line(version.description)),
        ("signature", version.signature or ""),
    ):
        typer.echo(f"{label:<13}{value}")
    print_table(
        "checks",
        ["check", "result", "when", "by", "details"],
        [
            (
                c.check,
                "passed" if c.passed else "FAILED",
                when(c.created),
                c.created_by,
                jsonlib.dumps(c.details, sort_keys=True) if c.details else "",
            )
            for c in checks
        ],
    )


@app.command("create")
def create(
    name: str = typer.Argument(...),
    description: str = typer.Option("", "--description", "-d"),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE; repeatable."),
    project: str = typer.Option(
        None, "--project", help="The project to make it in (default: default)."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Create an empty registered model NAME (versions come with `keel models register`)."""
    with client(tracking_uri) as c:
        found = c.registry.create_registered_model(
            name, description=description, tags=_parse_tags(tag), project=project
        )
    typer.echo(f"created model {found.name}" + (f" in project {project}" if project else ""))


@app.command("register")
def register(
    source: str = typer.Argument(
        ..., help="runs:/<run_id>/<path> of a logged model (a unique id prefix will do)."
    ),
    name: str = typer.Argument(...),
    description: str = typer.Option("", "--description", "-d"),
    tag: list[str] = typer.Option([], "--tag", help="KEY=VALUE; repeatable."),
    project: str = typer.Option(
        None, "--project", help="The project a new model is made in (default: default)."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Register a logged model as the next version of NAME (created if new)."""
    from keel.cli.resolve import run_source

    tags = _parse_tags(tag)
    c = client(tracking_uri)
    source = run_source(c, source)
    registry = c.registry
    version = registry.register_model(
        source, name, description=description, tags=tags, project=project
    )
    typer.echo(
        f"registered {version.name}/{version.version} ({version.status}, {version.content_hash})"
    )


@app.command("check")
def check(
    name: str = typer.Argument(...),
    version: int = typer.Argument(...),
    check_name: str = typer.Argument(..., metavar="CHECK"),
    passed: bool = typer.Option(..., "--passed/--failed", help="The check's outcome."),
    details: str = typer.Option(None, "--details", help="A JSON object, e.g. '{\"auc\": 0.91}'"),
    tracking_uri: str = TrackingUri,
) -> None:
    """Record a check's result against a version by hand."""
    from keel.errors import InvalidArgument

    parsed = None
    if details is not None:
        try:
            parsed = jsonlib.loads(details)
        except ValueError as exc:
            raise InvalidArgument(f"--details: must be a JSON object ({exc})") from None
    registry = client(tracking_uri).registry
    result = registry.record_check(name, version, check_name, passed, parsed)
    outcome = "passed" if result.passed else "failed"
    typer.echo(f"recorded {result.check} {outcome} for {result.name}/{result.version}")


@app.command("download")
def download(
    ref: str = typer.Argument(..., metavar="NAME/VERSION|NAME@ALIAS"),
    output: Path = typer.Option(..., "--output", "-o", help="Folder to write the package to."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Download a version's model package; its manifest must match the registered digest."""
    from keel.cli.models_download import download_package

    c = client(tracking_uri)
    version = resolve_version(c.registry, ref)
    count, size = download_package(c, version, output)
    typer.echo(
        f"downloaded {version.name}/{version.version}: {count} file(s), {size} bytes, to {output}"
    )


# formatting ----------------------------------------------------------------------------


def _aliases(aliases: dict[str, int]) -> str:
    return ", ".join(f"{alias}→{version}" for alias, version in sorted(aliases.items()))


def _pairs(values: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(values.items()))


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _parse_tags(pairs: list[str]) -> dict[str, str]:
    from keel.errors import InvalidArgument

    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"--tag {pair!r}: must be KEY=VALUE")
        tags[key] = value
    return tags
