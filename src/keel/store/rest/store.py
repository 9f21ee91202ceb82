"""``RestTrackingStore``: the :class:`TrackingStore` interface over ``keel server``."""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator, Sequence
from contextlib import closing

from keel.artifacts.hashing import new_hasher
from keel.entities import (
    Experiment,
    FileInfo,
    MetricHistory,
    Run,
    RunInfo,
    RunPage,
    RunStatus,
    ViewType,
    WriteBatch,
)
from keel.entities.progress import Progress
from keel.entities.rules import check_batch
from keel.errors import CorruptData, InvalidArgument, NotFound, StoreUnavailable
from keel.store.rest.http import Http
from keel.wire import routes
from keel.wire.artifacts import file_info_from_dict
from keel.wire.experiments import experiment_from_dict
from keel.wire.history import history_chunk_from_dict
from keel.wire.runs import run_from_dict, run_info_from_dict, run_page_from_dict
from keel.wire.writes import batch_to_dict


class RestTrackingStore:
    def __init__(self, server: str | Http, *, timeout: float = 30.0) -> None:
        """``server``: a base URL, or the session another store of the same server uses."""
        self.http = server if isinstance(server, Http) else Http(server, timeout=timeout)
        self.base_url = self.http.base_url
        self.artifacts = ProxiedArtifacts(self.http)

    def close(self) -> None:
        self.http.close()

    # experiments ---------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        artifact_location: str | None = None,
        tags: dict[str, str] | None = None,
        *,
        project: str | None = None,
    ) -> str:
        body: dict[str, object] = {"name": name, "tags": tags or {}}
        if artifact_location is not None:
            body["artifact_location"] = artifact_location
        if project is not None:
            body["project"] = project
        return str(self.http.request(*routes.CREATE_EXPERIMENT.at(), json=body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        route = routes.GET_EXPERIMENT.at(experiment_id=_experiment(experiment_id))
        return experiment_from_dict(self.http.request(*route))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            found = self.http.request(*routes.GET_EXPERIMENT_BY_NAME.at(), params={"name": name})
        except NotFound:
            return None
        return experiment_from_dict(found)

    def search_experiments(self, view: ViewType = ViewType.ACTIVE_ONLY) -> list[Experiment]:
        found = self.http.request(
            *routes.SEARCH_EXPERIMENTS.at(), params={"view": ViewType.parse(view).value}
        )
        return [experiment_from_dict(e) for e in found["experiments"]]

    def delete_experiment(self, experiment_id: str) -> None:
        self.http.request(*routes.DELETE_EXPERIMENT.at(experiment_id=_experiment(experiment_id)))

    def restore_experiment(self, experiment_id: str) -> None:
        self.http.request(*routes.RESTORE_EXPERIMENT.at(experiment_id=_experiment(experiment_id)))

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        route = routes.SET_EXPERIMENT_TAG.at(experiment_id=_experiment(experiment_id))
        self.http.request(*route, json={"key": key, "value": value})

    # runs ----------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: str,
        *,
        run_id: str | None = None,
        run_name: str | None = None,
        start_time: int | None = None,
        tags: dict[str, str] | None = None,
        parent_run_id: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "run_id": run_id,
            "run_name": run_name,
            "start_time": start_time,
            "tags": tags or {},
            "parent_run_id": parent_run_id,
            "user_id": user_id,
        }
        return run_from_dict(self.http.request(*routes.CREATE_RUN.at(), json=body))

    def get_run(self, run_id: str) -> Run:
        return run_from_dict(self.http.request(*routes.GET_RUN.at(run_id=_run(run_id))))

    def update_run(
        self,
        run_id: str,
        *,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        body = {
            "status": status.value if status else None,
            "end_time": end_time,
            "run_name": run_name,
        }
        route = routes.UPDATE_RUN.at(run_id=_run(run_id))
        return run_info_from_dict(self.http.request(*route, json=body))

    def delete_run(self, run_id: str) -> None:
        self.http.request(*routes.DELETE_RUN.at(run_id=_run(run_id)))

    def restore_run(self, run_id: str) -> None:
        self.http.request(*routes.RESTORE_RUN.at(run_id=_run(run_id)))

    def delete_tag(self, run_id: str, key: str) -> None:
        self.http.request(*routes.DELETE_RUN_TAG.at(run_id=_run(run_id)), params={"key": key})

    def write(self, batch: WriteBatch) -> bool:
        check_batch(batch)  # refuse here what the server would refuse, without a round trip
        found = self.http.request(*routes.WRITE.at(), json=batch_to_dict(batch))
        return bool(found["applied"])

    def get_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> MetricHistory:
        return MetricHistory.join(self.iter_metric_history(run_id, key, max_points=max_points))

    def iter_metric_history(
        self, run_id: str, key: str, *, max_points: int | None = None
    ) -> Generator[MetricHistory, None, None]:
        """The chunks as the server streams them (``keel.wire.history``): memory holds one
        line of the answer at a time, never its whole text."""
        params: dict[str, object] = {"key": key}
        if max_points is not None:
            params["max_points"] = max_points
        path = routes.METRIC_HISTORY.path(run_id=_run(run_id))
        lines = self.http.stream_lines(path, params=params)
        with closing(lines):
            head = next(lines, None)
            if head is None:
                raise _cut(run_id, key, "before its first line")
            name, total = head["key"], head["total"]
            count = 0
            for line in lines:
                if line.get("done"):
                    if line["count"] != count:
                        raise _cut(run_id, key, f"with {count} of {line['count']} points")
                    if count == 0:
                        yield MetricHistory(name, [], [], [], total=total)
                    return
                chunk = history_chunk_from_dict(line, name, total)
                count += len(chunk)
                yield chunk
        raise _cut(run_id, key, f"after {count} points, before its end")

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        *,
        view: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> RunPage:
        body = {
            "experiment_ids": list(experiment_ids),
            "filter": filter_string,
            "view": ViewType.parse(view).value,
            "max_results": max_results,
            "order_by": list(order_by) if order_by else None,
            "page_token": page_token,
        }
        return run_page_from_dict(self.http.request(*routes.SEARCH_RUNS.at(), json=body))

    def reap_lost_runs(self, silent_for_ms: int) -> list[str]:
        body = {"silent_for_ms": silent_for_ms}
        found = self.http.request(*routes.REAP_LOST_RUNS.at(), json=body)
        return list(found["run_ids"])

    # artifact records are written by the server as it stores the bytes ----------------

    def record_artifacts(self, run_id: str, files: Sequence[FileInfo]) -> None:
        raise InvalidArgument(
            "artifacts: upload through the server (Client.log_artifact); it records them"
        )

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.artifacts.list(run_id, path)

    def get_artifact(self, run_id: str, path: str) -> FileInfo:
        return self.artifacts.stat(run_id, path)


class ProxiedArtifacts:
    """Artifact bytes streamed through ``keel server``; digests checked at both ends."""

    def __init__(self, http: Http) -> None:
        self.http = http

    def upload_stream(
        self,
        run_id: str,
        path: str,
        chunks: Iterable[bytes],
        *,
        progress: Progress | None = None,
        expected_digest: str | None = None,
    ) -> FileInfo:
        # Hash while sending and compare with the digest the server computed; given
        # expected_digest, the server itself refuses a mismatch before keeping anything.
        hasher = new_hasher()

        def counted() -> Iterator[bytes]:
            for chunk in chunks:
                hasher.update(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
                yield chunk

        headers = {"Content-Type": "application/octet-stream"}
        if expected_digest:
            headers["X-Keel-Digest"] = expected_digest
        found = self.http.upload(
            routes.UPLOAD_ARTIFACT.path(run_id=_run(run_id)),
            counted(),
            params={"path": path},
            headers=headers,
        )
        info = file_info_from_dict(found)
        if info.digest != hasher.hexdigest():
            raise CorruptData(
                f"artifact {path!r}: the server stored different bytes than were sent "
                f"(sent {hasher.hexdigest()}, stored {info.digest})"
            )
        return info

    def list(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        params = {"path": path} if path else None
        route = routes.LIST_ARTIFACTS.at(run_id=_run(run_id))
        found = self.http.request(*route, params=params)
        return [file_info_from_dict(f) for f in found["files"]]

    def stat(self, run_id: str, path: str) -> FileInfo:
        route = routes.STAT_ARTIFACT.at(run_id=_run(run_id))
        found = self.http.request(*route, params={"path": path})
        return file_info_from_dict(found)

    def read_chunks(self, run_id: str, path: str) -> Iterator[bytes]:
        url = routes.DOWNLOAD_ARTIFACT.path(run_id=_run(run_id))
        with self.http.download(url, params={"path": path}) as response:
            expected = response.headers.get("X-Keel-Digest")
            hasher = new_hasher()
            for chunk in response.iter_bytes(4 * 1024 * 1024):
                hasher.update(chunk)
                yield chunk
        if expected and hasher.hexdigest() != expected:
            raise CorruptData(
                f"artifact {path!r}: downloaded bytes do not match the recorded digest"
            )


def _cut(run_id: str, key: str, where: str) -> StoreUnavailable:
    return StoreUnavailable(
        f"metric history {key!r} of run {run_id}: the server's answer stopped {where}; try again"
    )


def _experiment(experiment_id: str) -> str:
    """Experiment ids go into URL paths too: anything but a plain id names no experiment."""
    if not isinstance(experiment_id, str) or not experiment_id.isalnum():
        raise NotFound(f"experiment {experiment_id!r}: no such experiment")
    return experiment_id


def _run(run_id: str) -> str:
    """Run ids go into URL paths: refuse anything that is not a plain id."""
    if not run_id or not run_id.isalnum():
        raise NotFound(f"run {run_id!r}: no such run")
    return run_id
