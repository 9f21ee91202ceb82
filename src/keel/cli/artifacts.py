"""``keel artifacts``"""

from __future__ import annotations

from pathlib import Path

import typer

from keel.cli.output import Json, TrackingUri, client, print_json, print_table
from keel.cli.progress import transfer

app = typer.Typer(help="List, download and upload run artifacts.", no_args_is_help=True)


@app.command("list")
def list_artifacts(
    run_id: str = typer.Argument(..., help="Run id, or a unique prefix of 4+ characters."),
    path: str = typer.Argument(None, help="Folder within the run's artifacts."),
    json: bool = Json,
    tracking_uri: str = TrackingUri,
) -> None:
    """List a run's artifacts (one folder level)."""
    from keel.cli.resolve import run_id as run_id_of
    from keel.wire.artifacts import file_info_to_dict

    c = client(tracking_uri)
    found = c.list_artifacts(run_id_of(c, run_id), path)
    if json:
        print_json([file_info_to_dict(f) for f in found])
        return
    print_table(
        None,
        ["path", "size", "blake3"],
        [(f.path + ("/" if f.is_dir else ""), f.file_size, (f.digest or "")[:16]) for f in found],
    )


@app.command("download")
def download(
    run_id: str = typer.Argument(..., help="Run id, or a unique prefix of 4+ characters."),
    path: str = typer.Argument("", help="File or folder within the run's artifacts."),
    output: Path = typer.Option(Path("."), "--output", "-o", help="Local folder to write to."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Download artifacts; each file is checked against its recorded digest."""
    from keel.artifacts.repository import walk
    from keel.cli.resolve import run_id as run_id_of

    c = client(tracking_uri)
    run_id = run_id_of(c, run_id)
    files = walk(c.artifacts, run_id, path or None)
    total = sum(f.file_size or 0 for f in files)
    resume = "the files downloaded are kept; run the same command again to finish"
    with transfer("listing", resume=resume) as bar:
        local = c.download_artifacts(run_id, path, output, progress=bar)
    typer.echo(f"downloaded {len(files)} file(s), {total} bytes, to {local}")


@app.command("upload")
def upload(
    run_id: str = typer.Argument(..., help="Run id, or a unique prefix of 4+ characters."),
    local_path: Path = typer.Argument(..., exists=True, help="File or folder to upload."),
    artifact_path: str = typer.Option(None, "--artifact-path", "-p", help="Folder in the run."),
    tracking_uri: str = TrackingUri,
) -> None:
    """Upload a file, or a folder's contents (recursively), under --artifact-path."""
    from keel.cli.resolve import run_id as run_id_of

    paths = (
        [local_path] if local_path.is_file() else [p for p in local_path.rglob("*") if p.is_file()]
    )
    total = sum(p.stat().st_size for p in paths)
    c = client(tracking_uri)
    run_id = run_id_of(c, run_id)
    resume = "the files uploaded are in the run; run the same command again to upload them all"
    with transfer("uploading", resume=resume) as bar:
        upload = c.log_artifacts if local_path.is_dir() else c.log_artifact
        uploaded = upload(run_id, local_path, artifact_path, progress=bar)
    typer.echo(f"uploaded {len(uploaded)} file(s), {total} bytes")
