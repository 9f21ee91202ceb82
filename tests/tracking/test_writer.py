"""The client's write path: batching under the request limit, bounded memory, and what
happens to a run when its process ends well, badly, or dies."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import unique
from keel.client import Client
from keel.config import Settings
from keel.entities import MetricColumns, RunCreate, RunEnd, RunStatus, RunWrite
from keel.entities.rules import MAX_BATCH_ROWS
from keel.entities.run import TAG_LOST
from keel.errors import PayloadTooLarge
from keel.tracking.writer import _split


def big_write(run_id: str, points: int, *, params: int = 3, tags: int = 2) -> RunWrite:
    n = points
    return RunWrite(
        run_id,
        create=RunCreate("1", "big", 1),
        params={f"p{i}": str(i) for i in range(params)},
        tags={f"t{i}": str(i) for i in range(tags)},
        metrics=MetricColumns(["loss"] * n, [float(i) for i in range(n)], [1] * n, list(range(n))),
        end=RunEnd(RunStatus.FINISHED, 2),
    )


# splitting ---------------------------------------------------------------------------------


def test_split_keeps_every_batch_under_the_limit() -> None:
    write = big_write("a" * 32, 250_000)
    total = write.size()
    batches = list(_split([write]))
    assert len(batches) == 3
    assert all(b.size() <= MAX_BATCH_ROWS for b in batches)
    assert sum(b.size() for b in batches) == total
    assert len({b.batch_id for b in batches}) == 3
    pieces = [w for b in batches for w in b.runs]
    # Creation (and params, tags) in the first piece, the end in the last, none elsewhere.
    assert pieces[0].create is not None and pieces[0].params and pieces[0].tags
    assert all(p.create is None and not p.params and not p.tags for p in pieces[1:])
    assert pieces[-1].end is not None
    assert all(p.end is None for p in pieces[:-1])
    # The points travel in order, each exactly once.
    steps = [s for p in pieces for s in p.metrics.steps]
    assert steps == list(range(250_000))


def test_split_packs_small_writes_of_many_runs_together() -> None:
    writes = [big_write(f"{i:032x}", 10) for i in range(50)]
    batches = list(_split(writes))
    assert len(batches) == 1
    assert [w.run_id for w in batches[0].runs] == [w.run_id for w in writes]


def test_split_starts_a_new_batch_for_a_run_that_does_not_fit() -> None:
    first = big_write("a" * 32, MAX_BATCH_ROWS - 10, params=0, tags=0)
    second = big_write("b" * 32, 5, params=20, tags=0)  # 20 params + create + 5 + end
    batches = list(_split([first, second]))
    assert all(b.size() <= MAX_BATCH_ROWS for b in batches)
    second_pieces = [w for b in batches for w in b.runs if w.run_id == "b" * 32]
    assert second_pieces[0].create is not None and second_pieces[-1].end is not None
    assert sum(len(p.metrics) for p in second_pieces) == 5


def test_split_refuses_more_params_and_tags_than_one_batch_holds() -> None:
    write = RunWrite("c" * 32, params={f"p{i}": "x" for i in range(MAX_BATCH_ROWS + 1)})
    with pytest.raises(PayloadTooLarge, match="params and tags"):
        list(_split([write]))


# memory bound ------------------------------------------------------------------------------


def test_buffered_rows_stay_bounded_and_nothing_is_lost(tmp_path: Path) -> None:
    # A long flush interval: the sender must be woken by the full buffer, not the clock.
    settings = Settings(home=tmp_path / "home", max_buffered_rows=1000, flush_interval=5.0)
    with Client(f"sqlite:///{tmp_path / 'keel.db'}", settings=settings) as client:
        run = client.create_run(client.create_experiment(unique()))
        started = time.monotonic()
        highest = 0
        for step in range(10_000):
            client.log_metric(run.run_id, "loss", step / 10_000, step=step)
            highest = max(highest, client._writer._rows)
        elapsed = time.monotonic() - started
        assert highest < 1000
        assert elapsed < 4, f"logging waited {elapsed:.1f}s on a full buffer"
        client.flush()
        history = client.get_metric_history(run.run_id, "loss")
    assert len(history) == 10_000
    assert history.steps == list(range(10_000))


# process exit ------------------------------------------------------------------------------


def run_script(tmp_path: Path, body: str, **env: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / f"{unique('script')}.py"
    script.write_text(textwrap.dedent(body))
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    child_env.update(
        KEEL_TRACKING_URI=str(tmp_path / "store"),
        KEEL_HOME=str(tmp_path / "home"),
        KEEL_FLUSH_INTERVAL="0.1",
        **env,
    )
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def reader(tmp_path: Path) -> Client:
    return Client(str(tmp_path / "store"), settings=Settings(home=tmp_path / "reader"))


def test_a_script_that_exits_ends_its_run_finished(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import keel
        run = keel.start_run()
        for step in range(500):
            keel.log_metric("loss", 1 / (step + 1), step=step)
        print(run.run_id, flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split()[-1]
    with reader(tmp_path) as client:
        run = client.get_run(run_id)
        assert run.info.status is RunStatus.FINISHED
        assert len(client.get_metric_history(run_id, "loss")) == 500


def test_a_script_that_raises_ends_its_run_failed(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import keel
        run = keel.start_run()
        keel.log_param("lr", 0.1)
        print(run.run_id, flush=True)
        raise RuntimeError("training diverged")
        """,
    )
    assert done.returncode == 1
    assert "training diverged" in done.stderr
    assert "could not end run" not in done.stderr
    run_id = done.stdout.split()[-1]
    with reader(tmp_path) as client:
        run = client.get_run(run_id)
    assert run.info.status is RunStatus.FAILED
    assert run.data.params == {"lr": "0.1"}


def test_a_refused_run_creation_is_raised_at_the_call(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import os
        import keel
        experiment = keel.set_experiment("doomed")
        keel.Client(os.environ["KEEL_TRACKING_URI"]).delete_experiment(experiment.experiment_id)
        try:
            keel.start_run()
        except keel.errors.InvalidArgument as exc:
            print("refused:", exc)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "refused: experiment 1: is deleted" in done.stdout


def test_writes_refused_at_exit_are_reported_not_dropped_silently(tmp_path: Path) -> None:
    # Nothing flushes this client's last write, so the store's refusal (its run was
    # deleted meanwhile) arrives at exit, when no call is left to raise it from.
    done = run_script(
        tmp_path,
        """
        import os
        import keel
        client = keel.Client()
        run = client.create_run(client.create_experiment("doomed"))
        keel.Client().delete_run(run.run_id)
        client.log_metric(run.run_id, "loss", 0.5)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "keel: a write was refused and is lost: run" in done.stderr
    assert "is deleted" in done.stderr
    assert "written by log_metric(s)/set_tag(s)/set_terminated to run" in done.stderr


def test_sigterm_ends_the_open_runs_killed(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading, time
            import keel
            outer = keel.start_run()                         # ended at exit
            with keel.start_run(nested=True) as inner:       # ended by unwinding
                keel.log_metric("loss", 0.5)
                print(outer.run_id, inner.run_id, flush=True)
                time.sleep(60)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env.update(KEEL_TRACKING_URI=str(tmp_path / "store"), KEEL_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert proc.stdout is not None
    outer_id, inner_id = proc.stdout.readline().split()
    proc.terminate()
    assert proc.wait(timeout=30) == 143  # 128 + SIGTERM, as a shell reports an unhandled one
    with reader(tmp_path) as client:
        for run_id in (outer_id, inner_id):
            run = client.get_run(run_id)
            assert run.info.status is RunStatus.KILLED
            assert run.info.end_time is not None
        assert client.get_run(inner_id).data.metrics == {"loss": 0.5}


def test_a_user_sigterm_handler_still_runs_and_decides(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import os, signal
        import keel
        seen = []
        signal.signal(signal.SIGTERM, lambda *_: seen.append("handled"))
        with keel.start_run() as run:
            os.kill(os.getpid(), signal.SIGTERM)   # the handler keeps going: so does the run
            keel.log_metric("after", 1.0)
        print(seen, run.run_id, flush=True)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "['handled']" in done.stdout
    with reader(tmp_path) as client:
        run = client.get_run(done.stdout.split()[-1])
    assert run.info.status is RunStatus.FINISHED
    assert run.data.metrics == {"after": 1.0}


def test_a_run_whose_process_dies_is_reaped_killed(tmp_path: Path) -> None:
    done = run_script(
        tmp_path,
        """
        import os, signal, time
        import keel
        run = keel.start_run()
        keel.log_metric("loss", 0.5)
        keel.flush()
        time.sleep(0.5)  # long enough for a few heartbeats
        print(run.run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """,
        KEEL_HEARTBEAT_INTERVAL="0.1",
    )
    assert done.returncode == -9, done.stderr
    run_id = done.stdout.split()[-1]
    with reader(tmp_path) as client:
        run = client.get_run(run_id)
        assert run.info.status is RunStatus.RUNNING
        assert run.info.last_heartbeat is not None
        # Creating the run stamps it alive; only heartbeats move that on by the half second.
        assert run.info.last_heartbeat >= run.info.start_time + 250, "no heartbeat was sent"
        assert client.reap_lost_runs(silent_for=30) == []  # its heartbeat is still recent
        time.sleep(1.5)
        assert client.reap_lost_runs(silent_for=1) == [run_id]
        reaped = client.get_run(run_id)
        assert client.reap_lost_runs(silent_for=1) == []  # reaping twice changes nothing
    assert reaped.info.status is RunStatus.KILLED
    assert reaped.info.end_time == run.info.last_heartbeat
    assert reaped.data.tags[TAG_LOST] == "true"
    assert reaped.data.metrics == {"loss": 0.5}


def test_runs_of_processes_seeded_alike_stay_apart(tmp_path: Path) -> None:
    """Training scripts seed ``random`` for reproducibility; two runs of the same script
    must still get their own run (and write batch) ids, or one silently loses its data."""
    script = """
        import random
        import keel
        random.seed(0)
        with keel.start_run() as run:
            keel.log_metric("loss", {value})
        print(run.run_id, flush=True)
        """
    ids = []
    for value in (1.0, 2.0):
        done = run_script(tmp_path, script.format(value=value))
        assert done.returncode == 0, done.stderr
        ids.append(done.stdout.split()[-1])
    assert ids[0] != ids[1]
    with reader(tmp_path) as client:
        assert [client.get_run(i).data.metrics["loss"] for i in ids] == [1.0, 2.0]
