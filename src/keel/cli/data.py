"""``keel data``"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from keel.cli.output import Json, TrackingUri, print_json, print_table, when
from keel.cli.progress import transfer

if TYPE_CHECKING:
    from keel.data.client import DataClient

app = typer.Typer(
    help="Version files, folders and tables; fetch versions; see what changed.",
    no_args_is_help=True,
)


def _data(tracking_uri: str | None) -> DataClient:
    """The data client, opening the database only when a command needs it (``status``
    never does). Built here rather than through ``keel.Client``, whose tracking side
    would add its imports to every ``keel data`` command."""
    from keel.config import Settings
    from keel.data.client import dataset_objects, open_data_client
    from keel.store.backend import open_backend
    from keel.uri import store_key

    settings = Settings.from_env()
    uri = tracking_uri or settings.tracking_uri or str(settings.home)
    backend = open_backend(uri, settings)  # connects on first use: `status` never does
    return open_data_client(
        settings.with_tracking_uri(uri),  # its files are left out of the folders walked
        lambda: backend.datasets,
        actor=settings.user or _login(),
        remote=lambda: dataset_objects(backend),
        push_on_add=backend.remote,
        store_key=store_key(uri, artifacts_uri=settings.artifacts_uri, home=settings.home),
    )


def _login() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return "anonymous"


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n:,} files"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


@app.command("add")
def add(
    path: Path = typer.Argument(..., help="A file, a folder, or a table (.parquet, .csv)."),
    name: str = typer.Option(..., "--name", "-n", help="Dataset name."),
    description: str = typer.Option("", "--description", "-d"),
    project: str = typer.Option(
        None, "--project", help="The project a new dataset is made in (default: default)."
    ),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Add PATH as a new version of NAME (no new version when nothing changed)."""
    client = _data(tracking_uri)
    resume = "no version was created; run the same command again to finish"
    with transfer("scanning", resume=resume) as bar:
        result = client.add(path, name=name, description=description, progress=bar, project=project)
    v = result.version
    if json:
        from keel.wire.datasets import dataset_version_to_dict

        print_json({**dataset_version_to_dict(v), "new_version": result.created})
        return
    verb = "added" if result.created else "unchanged:"
    typer.echo(
        f"{verb} {v.uri} ({v.kind.value}, {_files(v.file_count)}, {_size(v.total_bytes)}; "
        f"{result.hashed_files} hashed, {_size(result.stored_bytes)} stored)"
    )


@app.command("get")
def get(
    ref: str = typer.Argument(..., help="NAME@VERSION, NAME@latest or datasets:/NAME@VERSION."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to materialise it into."),
    force: bool = typer.Option(False, "--force", help="Replace local changes in OUT."),
    link: str = typer.Option(
        "copy", "--link", help="copy, or hardlink: big files linked to the cache, read-only."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Materialise a version into a folder (files copied from the cache, or hard-linked)."""
    client = _data(tracking_uri)
    version = client.resolve(ref)
    resume = "run the same command again to finish (with --force if OUT was there before)"
    with transfer("fetching", resume=resume) as bar:
        client.get(version, out, force=force, progress=bar, link=link)  # type: ignore[arg-type]
    typer.echo(f"{version.uri}: {_files(version.file_count)} in {out}")


@app.command("push")
def push(
    refs: list[str] = typer.Argument(..., help="Versions to push (NAME@VERSION ...)."),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Read back the objects the remote holds and replace any whose bytes no longer "
        "match (as after a pull refused one as corrupted in storage).",
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Upload to the artifact store the objects of these versions it does not have yet
    (run it again after an interruption: what arrived is skipped)."""
    client = _data(tracking_uri)
    resume = "what arrived is kept; run the same command again to push the rest"
    with transfer("listing", resume=resume) as bar:
        done = client.push(refs, progress=bar, verify=verify)
    typer.echo(f"pushed {done.objects} objects ({_size(done.bytes)}); {done.skipped} were there")


@app.command("pull")
def pull(
    refs: list[str] = typer.Argument(..., help="Versions to pull (NAME@VERSION ...)."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Download into the local cache the objects of these versions it lacks, each checked
    against its digest (run it again after an interruption: what arrived is skipped)."""
    client = _data(tracking_uri)
    resume = "what arrived is kept; run the same command again to pull the rest"
    with transfer("listing", resume=resume) as bar:
        done = client.pull(refs, progress=bar)
    typer.echo(f"pulled {done.objects} objects ({_size(done.bytes)}); {done.skipped} were cached")


@app.command("gc")
def gc(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would go; remove nothing."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Free the local cache of objects this store's remote holds (each read back there
    first) and no folder on this machine needs; `get` pulls them back. Objects of versions
    of other stores, and objects only this cache holds, are kept."""
    from dataclasses import asdict

    done = _data(tracking_uri).gc(dry_run=dry_run)
    if json:
        print_json(asdict(done))
        return
    verb = "would remove" if done.dry_run else "removed"
    typer.echo(
        f"{verb} {done.removed:,} objects ({_size(done.freed_bytes)}); kept {done.in_use:,} "
        "that folders on this machine hold"
    )
    if done.other_stores:
        typer.echo(
            f"kept {done.other_stores:,} of versions of other stores, or of versions whose "
            "store this machine cannot tell (used through a store object, or cached before "
            "Keel recorded stores): gc never frees those"
        )
    if done.not_on_remote:
        typer.echo(
            f"kept {done.not_on_remote:,} ({_size(done.not_on_remote_bytes)}) that this "
            "store's remote lacks or holds damaged: `keel data push --verify` their versions"
        )
    if done.packed_with_kept:
        typer.echo(f"kept {done.packed_with_kept:,} that share a pack with objects kept")


@app.command("status")
def status(
    path: Path = typer.Argument(Path("."), help="A folder or file added or fetched before."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """What changed in PATH since its version (unchanged files are not hashed again).
    Exits 0 when clean and 1 when there are changes."""
    report = _data(tracking_uri).status(path)
    if json:
        print_json(report.to_dict())
    else:
        c = report.changes
        head = f"{report.checkout.name}@{report.checkout.version}"
        if c.clean:
            typer.echo(f"{head}: no changes")
        else:
            typer.echo(f"{head}: {len(c.modified)} modified, {len(c.added)} added, "
                       f"{len(c.removed)} removed")  # fmt: skip
            for label, paths in (("modified", c.modified), ("added", c.added),
                                 ("removed", c.removed)):  # fmt: skip
                for p in paths:
                    typer.echo(f"  {label:9} {p}")
    raise typer.Exit(0 if report.changes.clean else 1)


@app.command("diff")
def diff(
    a: str = typer.Argument(..., help="The older version (NAME@VERSION)."),
    b: str = typer.Argument(..., help="The newer version."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Files added, removed and changed between two versions; for tables also the schema,
    row-count and per-column statistic changes."""
    result = _data(tracking_uri).diff(a, b)
    if json:
        print_json(result.to_dict())
        return
    f = result.files
    typer.echo(f"{result.a.uri} -> {result.b.uri}: {len(f.added)} added, "
               f"{len(f.removed)} removed, {len(f.modified)} modified")  # fmt: skip
    for label, paths in (("added", f.added), ("removed", f.removed), ("modified", f.modified)):
        for p in paths:
            typer.echo(f"  {label:9} {p}")
    if result.table is not None:
        from keel.data.profile import render_diff

        typer.echo(render_diff(result.table))


@app.command("list")
def list_datasets(json: bool = Json, tracking_uri: str = TrackingUri) -> None:
    """Every dataset and its latest version."""
    found = _data(tracking_uri).store.list_datasets()
    if json:
        from keel.wire.datasets import dataset_to_dict

        print_json([dataset_to_dict(d) for d in found])
        return
    print_table(None, ["name", "latest", "updated"],
                [(d.name, d.last_version, when(d.updated)) for d in found])  # fmt: skip


@app.command("log")
def log(
    name: str = typer.Argument(...), json: bool = Json, tracking_uri: str = TrackingUri
) -> None:
    """A dataset's versions, newest first."""
    versions = _data(tracking_uri).store.list_dataset_versions(name)
    if json:
        from keel.wire.datasets import dataset_version_to_dict

        print_json([dataset_version_to_dict(v) for v in versions])
        return
    print_table(
        name,
        ["version", "kind", "files", "size", "rows", "digest", "created", "by"],
        [
            (v.version, v.kind.value, v.file_count, _size(v.total_bytes),
             "" if v.row_count is None else v.row_count, v.digest[:12], when(v.created),
             v.created_by)
            for v in versions
        ],
    )  # fmt: skip


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="NAME@VERSION (or NAME for the latest)."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """A version: what it holds, its profile (tables), and the runs that used it."""
    client = _data(tracking_uri)
    v = client.resolve(ref)
    users = client.store.version_users(v.name, v.version)
    if json:
        from keel.wire.datasets import dataset_input_to_dict, dataset_version_to_dict

        print_json({
            **dataset_version_to_dict(v, profile=True),
            "used_by": [dataset_input_to_dict(u) for u in users],
        })  # fmt: skip
        return
    typer.echo(f"{v.uri}  {v.kind.value}, {_files(v.file_count)}, {_size(v.total_bytes)}")
    typer.echo(f"  digest   {v.digest}")
    typer.echo(f"  source   {v.source}")
    typer.echo(f"  created  {when(v.created)} by {v.created_by}")
    if v.description:
        typer.echo(f"  about    {v.description}")
    if v.row_count is not None:
        typer.echo(f"  table    {v.row_count} rows x {v.column_count} columns")
    for u in users:
        typer.echo(f"  used by  run {u.run_id} ({u.context})")
    if v.profile is not None:
        from keel.data.profile import TableProfile, render_profile

        typer.echo(render_profile(TableProfile.from_dict(v.profile)))


def _table(client: DataClient, target: str) -> Any:
    """A table from a path (Parquet, CSV) or a table version (NAME@VERSION)."""
    from keel.data.tables import read_table
    from keel.entities.dataset import DatasetKind
    from keel.errors import InvalidArgument

    if Path(target).exists():
        return read_table(Path(target))
    version = client.resolve(target)
    if version.kind is not DatasetKind.TABLE:
        raise InvalidArgument(
            f"dataset {version.uri}: is a {version.kind.value}, not a table (Parquet or CSV)"
        )
    return client.load(version)


@app.command("profile")
def profile(
    target: str = typer.Argument(..., help="A table file, or a table version NAME@VERSION."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Per-column types, nulls, distinct counts, statistics and top values of a table."""
    from keel.data.profile import profile_table, render_profile

    result = profile_table(_table(_data(tracking_uri), target))
    if json:
        print_json(result.to_dict())
        return
    typer.echo(render_profile(result))


schema_app = typer.Typer(help="Infer a table schema to edit and validate against.")
app.add_typer(schema_app, name="schema")


@schema_app.command("infer")
def schema_infer(
    target: str = typer.Argument(..., help="The reference: a table file or NAME@VERSION."),
    out: Path = typer.Option(None, "--out", "-o", help="Write here (.yaml or .json)."),
    categorical_max: int = typer.Option(
        20, help="Strings with at most this many values become a list of allowed values."
    ),
    tracking_uri: str = TrackingUri,
) -> None:
    """Infer a schema (types, nullability, ranges, allowed values, uniqueness) from a
    reference table; edit it, then `keel data validate ... --schema FILE`."""
    from keel.data.schema_inference import infer_schema

    schema = infer_schema(_table(_data(tracking_uri), target), categorical_max=categorical_max)
    text = schema.to_json() if out is not None and out.suffix == ".json" else schema.to_yaml()
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text)
    typer.echo(f"wrote {out} ({len(schema.columns)} columns)")


@app.command("validate")
def validate(
    target: str = typer.Argument(..., help="A table file, or a table version NAME@VERSION."),
    schema_path: Path = typer.Option(..., "--schema", "-s", help="Schema file (.yaml/.json)."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """Check a table against a schema: every violation with its column, rule, how many
    rows and a sample. Exits 1 when an error-level check fails (for CI)."""
    from keel.data.schema import DataSchema
    from keel.data.table_checks import validate_table
    from keel.errors import InvalidArgument

    try:
        text = schema_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument(f"schema {str(schema_path)!r}: cannot be read ({exc})") from None
    schema = DataSchema.from_text(text, source=str(schema_path))
    report = validate_table(_table(_data(tracking_uri), target), schema)
    if json:
        print_json(report.to_dict())
    else:
        typer.echo(report.render())
    raise typer.Exit(0 if report.passed else 1)
