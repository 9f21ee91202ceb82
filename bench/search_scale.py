"""Run search at scale: ``SqlTrackingStore.search_runs`` over up to a million runs, on
SQLite and PostgreSQL, for the shapes a UI and a sweep analysis ask for.

Each run has 10 params, 5 metrics and 3 tags. The runs are written with bulk SQL (like
``_seed_sql.py``) into a schema Keel created, the secondary indexes dropped during the
load and rebuilt after it; then Keel's statistics schedule sees the rows written, as it
would a large write, and analyzes. Every search is timed through the store, loading
whole runs, after a few untimed warm-up calls; the table shows the median (p50) and p95.

    .venv/bin/python bench/search_scale.py --runs 100000            # about 1 minute
    .venv/bin/python bench/search_scale.py --keep /tmp/keel-scale   # 1M runs, seeded once
    .venv/bin/python bench/search_scale.py --backends sqlite --no-analyze

``--keep DIR`` keeps the SQLite file in DIR and the PostgreSQL database
``keel_search_scale_<runs>`` and reuses both on the next run with the same ``--keep``;
without it both are temporary. To compare with an older Keel, run this file with that
Keel first on ``PYTHONPATH`` (and without ``--keep``: the schemas differ). This is a
benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _report import machine_summary
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from keel.store.sql.migrate import upgrade
from keel.store.sql.store import SqlTrackingStore

try:
    from keel.store.sql.analyze import analyze_if_stale
except ImportError:  # an older Keel, measured for comparison: it kept no statistics
    analyze_if_stale = None  # type: ignore[assignment]

SEED = 20241201
BASE_TIME_MS = 1_700_000_000_000
CHUNK = 20_000
PER_PAGE = 100
TARGET_MS = 100.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
EXPERIMENT = "search-scale"
SEEDED_TAG = "bench.seeded_runs"

PARAM_CHOICES = {
    "model": ("rf", "gb", "lr", "svm"),
    "learning_rate": ("0.001", "0.01", "0.1"),
    "n_estimators": ("50", "100", "200", "400"),
    "optimizer": ("adam", "sgd", "lbfgs"),
    "batch_size": ("32", "64", "128", "256"),
    "dropout": ("0.0", "0.1", "0.2", "0.3", "0.5"),
    "layers": ("1", "2", "3", "4", "6", "8"),
    "activation": ("relu", "gelu", "tanh"),
}
TEAMS = ("vision", "nlp", "tabular", "speech", "recsys", "forecast", "search", "ranking")
STAGES = ("dev", "staging", "prod")


@dataclass(frozen=True)
class Shape:
    name: str
    filter_string: str | None = None
    order_by: tuple[str, ...] = ()
    page: int = 1
    target: bool = False

    def check(self, runs: list[Any]) -> None:
        """Fail loudly on an answer that cannot be right for this shape."""
        assert len(runs) == PER_PAGE or self.filter_string, (self.name, len(runs))
        if self.order_by == ("metrics.acc DESC",):
            accs = [run.data.metrics["acc"] for run in runs]
            assert accs == sorted(accs, reverse=True), self.name
        if self.filter_string and "LIKE 'user-12%'" in self.filter_string:
            assert all(run.data.tags["owner"].startswith("user-12") for run in runs)


SHAPES = (
    Shape(
        "metric + param filter",
        "metrics.acc > 0.5 AND params.model = 'rf'",
        ("metrics.acc DESC",),
        target=True,
    ),
    Shape("order by metric DESC, no filter", None, ("metrics.acc DESC",), target=True),
    Shape("tag LIKE 'prefix%' (1.1% of runs)", "tags.owner LIKE 'user-12%'", target=True),
    Shape("page 50, ordered by metric", None, ("metrics.acc DESC",), page=50, target=True),
    Shape("default order (newest first)"),
    Shape("tag LIKE 'prefix%' (0.1% of runs)", "tags.owner LIKE 'user-999%'"),
    Shape("param = rare value", "params.seed = '424242'"),
    Shape("tag = value, ordered by metric ASC", "tags.team = 'vision'", ("metrics.loss ASC",)),
    Shape(
        "metric > rare value + param, ordered by another metric",
        "metrics.acc > 0.999 AND params.model = 'rf'",
        ("metrics.f1 DESC",),
    ),
)


# -- the runs ---------------------------------------------------------------------------------


def generate(rng: random.Random, first: int, count: int, experiment_id: int) -> dict[str, list]:
    """Rows for runs ``first .. first + count - 1``, table by table."""
    out: dict[str, list] = {t: [] for t in ("runs", "params", "tags", "series", "points")}
    for index in range(first, first + count):
        run_id = f"{rng.getrandbits(128):032x}"
        start = BASE_TIME_MS + index * 1000
        out["runs"].append(
            (run_id, experiment_id, f"run-{index}", "FINISHED", start, start + 500, "active",
             f"/artifacts/{experiment_id}/{run_id}/artifacts", None, f"user{index % 50}",
             start + 500)
        )  # fmt: skip
        chosen = {key: rng.choice(values) for key, values in PARAM_CHOICES.items()}
        chosen["max_depth"] = str(rng.randint(2, 12))
        chosen["seed"] = str(rng.randrange(1_000_000))
        out["params"].extend((run_id, key, value) for key, value in chosen.items())
        owner = f"user-{rng.randrange(1000):03d}"
        tags = (("team", rng.choice(TEAMS)), ("stage", rng.choice(STAGES)), ("owner", owner))
        out["tags"].extend((run_id, key, value) for key, value in tags)
        metrics = (
            ("acc", rng.random()),
            ("loss", rng.uniform(0.0, 2.0)),
            ("f1", rng.random()),
            ("auc", rng.random()),
            ("val_loss", rng.uniform(0.0, 2.0)),
        )
        for offset, (key, value) in enumerate(metrics):
            series_id = index * len(metrics) + offset + 1
            out["series"].append((series_id, run_id, key, value, 0, start, 1))
            out["points"].append((series_id, 0, start, 0, value))
    return out


COLUMNS = {
    "runs": "run_uuid, experiment_id, name, status, start_time, end_time, lifecycle_stage,"
    " artifact_uri, parent_run_id, user_id, last_heartbeat",
    "params": "run_uuid, key, value",
    "tags": "run_uuid, key, value",
    "metric_series": "series_id, run_uuid, key, last_value, last_step, last_timestamp, points",
    "metric_points": "series_id, step, timestamp, seq, value",
}
SOURCES = {
    "runs": "runs",
    "params": "params",
    "tags": "tags",
    "metric_series": "series",
    "metric_points": "points",
}


def _secondary_indexes(engine: Engine) -> list[tuple[str, str]]:
    """(name, DDL) of every index Keel made on the loaded tables, but keys' own."""
    tables = tuple(COLUMNS)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                text("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'")
            ).all()
            return [(n, sql) for n, t, sql in rows if t in tables and sql]
        rows = conn.execute(
            text(
                "SELECT i.indexname, i.tablename, i.indexdef FROM pg_indexes i"
                " JOIN pg_class c ON c.relname = i.indexname"
                " LEFT JOIN pg_constraint k ON k.conindid = c.oid"
                " WHERE i.schemaname = 'public' AND k.oid IS NULL"
            )
        ).all()
        return [(n, sql) for n, t, sql in rows if t in tables]


def seed(store: SqlTrackingStore, runs: int) -> dict[str, float]:
    """Fill a fresh store with ``runs`` runs; returns seconds taken per phase."""
    engine = store.engine
    experiment_id = int(store.create_experiment(EXPERIMENT))
    indexes = _secondary_indexes(engine)
    figures: dict[str, float] = {}
    started = time.perf_counter()
    with _raw_connection(engine) as raw:
        for name, _ in indexes:
            raw.execute(f"DROP INDEX {name}")
        rng = random.Random(SEED * 1_000_003 + runs)
        for first in range(0, runs, CHUNK):
            rows = generate(rng, first, min(CHUNK, runs - first), experiment_id)
            for table, columns in COLUMNS.items():
                raw.load(table, columns, rows[SOURCES[table]])
            raw.commit()
        figures["load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        for _, ddl in indexes:
            raw.execute(ddl)
        if engine.dialect.name == "postgresql":
            raw.execute(
                "SELECT setval(pg_get_serial_sequence('metric_series', 'series_id'),"
                " (SELECT max(series_id) FROM metric_series))"
            )
        raw.execute(
            "INSERT INTO experiment_tags (experiment_id, key, value)"
            f" VALUES ({experiment_id}, '{SEEDED_TAG}', '{runs}')"
        )
        raw.commit()
        figures["index_s"] = time.perf_counter() - started
    return figures


class _Raw:
    """One DB-API connection for bulk loading: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn, self.dialect = conn, dialect

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def load(self, table: str, columns: str, rows: list[tuple]) -> None:
        if self.dialect == "sqlite":
            marks = ", ".join("?" * (columns.count(",") + 1))
            self.conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
            return
        with self.conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)

    def commit(self) -> None:
        self.conn.commit()


@contextlib.contextmanager
def _raw_connection(engine: Engine) -> Iterator[_Raw]:
    url = engine.url
    if engine.dialect.name == "sqlite":
        conn = sqlite3.connect(str(url.database))
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1000000")
        try:
            yield _Raw(conn, "sqlite")
        finally:
            conn.close()
        return
    import psycopg

    with psycopg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password,
        dbname=url.database,
    ) as conn:  # fmt: skip
        conn.execute("SET maintenance_work_mem = '512MB'")
        yield _Raw(conn, "postgresql")


# -- the databases ----------------------------------------------------------------------------


@contextlib.contextmanager
def postgres_database(admin_url: str, name: str | None) -> Iterator[tuple[str, bool]]:
    """A database on the server ``admin_url`` names: ``name`` kept (and reused), or a
    temporary one. Yields its URL and whether it existed."""
    import psycopg

    u = make_url(admin_url)
    params = dict(host=u.host, port=u.port or 5432, user=u.username, password=u.password)
    keep = name is not None
    name = name or f"keel_search_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dbname=u.database, autocommit=True, **params) as conn:
        existed = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not existed:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield u.set(database=name).render_as_string(hide_password=False), bool(existed)
    finally:
        if not keep:
            with psycopg.connect(dbname=u.database, autocommit=True, **params) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def refresh_statistics(engine: Engine) -> float:
    """What Keel does on opening a store or after its writes: analyze the tables, stale
    now. PostgreSQL counts the rows loaded a moment after the loader disconnects, so
    this waits for its count. Returns the seconds the analysis took."""
    deadline = time.monotonic() + 60
    while True:
        started = time.perf_counter()
        if analyze_if_stale(engine):
            return time.perf_counter() - started
        if time.monotonic() > deadline:
            raise SystemExit(f"{engine.url}: the statistics never looked stale")
        time.sleep(0.5)


def seeded_runs(store: SqlTrackingStore) -> int | None:
    experiment = store.get_experiment_by_name(EXPERIMENT)
    if experiment is None or SEEDED_TAG not in experiment.tags:
        return None
    return int(experiment.tags[SEEDED_TAG])


def open_seeded(url: str, runs: int, args: argparse.Namespace, log: Callable[[str], None]) -> Any:
    store = SqlTrackingStore(url, artifact_root="/artifacts")
    upgrade(store.engine)
    found = seeded_runs(store)
    if found is None:
        if store.get_experiment_by_name(EXPERIMENT) is not None:
            raise SystemExit(f"{url}: holds an unfinished seeding; remove it and run again")
        log(f"seeding {runs:,} runs into {store.engine.dialect.name}...")
        figures = seed(store, runs)
        log(f"  loaded in {figures['load_s']:.0f} s, indexed in {figures['index_s']:.0f} s")
        if not args.no_analyze and analyze_if_stale is not None:
            log(f"  statistics: {refresh_statistics(store.engine):.1f} s")
    elif found != runs:
        raise SystemExit(f"{url}: was seeded with {found:,} runs, not {runs:,}")
    store.close()
    store = SqlTrackingStore(url, artifact_root="/artifacts")
    if args.sqlite_cache_mib and store.engine.dialect.name == "sqlite":
        cache = -1024 * args.sqlite_cache_mib

        @event.listens_for(store.engine, "connect")
        def _cache(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute(f"PRAGMA cache_size={cache}")

    return store


# -- the measures -----------------------------------------------------------------------------


def measure(store: SqlTrackingStore, shape: Shape, reps: int, warmup: int) -> dict[str, float]:
    experiment = store.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    ids = [experiment.experiment_id]
    order = list(shape.order_by) or None
    token, walked = None, 0.0
    for _ in range(shape.page - 1):  # the token of the page wanted, as a client gets it
        started = time.perf_counter()
        page = store.search_runs(
            ids, shape.filter_string, order_by=order, max_results=PER_PAGE, page_token=token
        )
        walked += time.perf_counter() - started
        token = page.next_page_token
        assert token is not None

    def search() -> list[Any]:
        return store.search_runs(
            ids, shape.filter_string, order_by=order, max_results=PER_PAGE, page_token=token
        ).runs

    for _ in range(warmup):
        shape.check(search())
    samples = []
    for _ in range(reps):
        started = time.perf_counter()
        search()
        samples.append(time.perf_counter() - started)
    samples.sort()
    return {
        "p50_ms": 1000 * statistics.median(samples),
        "p95_ms": 1000 * samples[max(0, round(0.95 * len(samples)) - 1)],
        "walk_ms": 1000 * walked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="a server to create on")
    parser.add_argument("--keep", type=Path, help="keep and reuse the seeded databases")
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-analyze", action="store_true", help="seed without statistics")
    parser.add_argument("--sqlite-cache-mib", type=int, help="override Keel's page cache")
    parser.add_argument("--only", help="measure only shapes whose name contains this")
    parser.add_argument("--save", action="store_true", help="also write bench/results/")
    args = parser.parse_args()
    machine = machine_summary()

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    shapes = [s for s in SHAPES if not args.only or args.only in s.name]
    results: list[tuple[Shape, str, dict[str, float]]] = []
    scratch = Path(tempfile.mkdtemp(prefix="keel-search-scale-"))
    try:
        for backend in args.backends.split(","):
            with contextlib.ExitStack() as stack:
                if backend == "sqlite":
                    folder = args.keep or scratch
                    folder.mkdir(parents=True, exist_ok=True)
                    url = f"sqlite:///{folder / f'search-{args.runs}.db'}"
                else:
                    name = f"keel_search_scale_{args.runs}" if args.keep else None
                    url, _ = stack.enter_context(postgres_database(args.postgres, name))
                store = open_seeded(url, args.runs, args, log)
                stack.callback(store.close)
                for shape in shapes:
                    figures = measure(store, shape, args.reps, args.warmup)
                    log(f"  {backend:10} {shape.name:40} p50 {figures['p50_ms']:8.1f} ms")
                    results.append((shape, backend, figures))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load = os.getloadavg()
    report = "\n".join(
        [
            f"# Run search at {args.runs:,} runs",
            "",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine['nproc']} cores, {machine['cpu_model']}, "
            f"{machine['memory_gib']:.1f} GiB, Python {machine['python']}",
            "- load average (1, 5, 15 min) at start "
            + " / ".join(f"{x:.2f}" for x in machine["load_average_start"])
            + ", at end "
            + " / ".join(f"{x:.2f}" for x in load)
            + ": other work on the machine skews figures",
            f"- command: `{' '.join(['.venv/bin/python', *sys.argv])}`",
            "",
            table(results, args.runs),
        ]
    )
    print(report)
    if args.save:
        out = Path(__file__).resolve().parent / "results" / f"search_scale_{args.runs}.md"
        out.write_text(report + "\n")
        log(f"written to {out}")


def table(results: list[tuple[Shape, str, dict[str, float]]], runs: int) -> str:
    lines = [
        f"`SqlTrackingStore.search_runs` over {runs:,} runs (10 params, 5 metrics, 3 tags "
        f"each), {PER_PAGE} runs a page, whole runs loaded; p50 and p95 of the calls",
        "",
        "| shape | backend | p50 (ms) | p95 (ms) | target p50 < 100 ms |",
        "|---|---|---:|---:|---|",
    ]
    for shape, backend, f in results:
        verdict = ("met" if f["p50_ms"] < TARGET_MS else "**over**") if shape.target else "—"
        name = shape.name
        if shape.page > 1:
            name += f" (walking pages 1-{shape.page - 1}: {f['walk_ms']:,.0f} ms)"
        lines.append(f"| {name} | {backend} | {f['p50_ms']:.1f} | {f['p95_ms']:.1f} | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
