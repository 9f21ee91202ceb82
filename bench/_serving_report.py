"""The serving benchmark's report: the side-by-side table with Keel's ratios to BentoML and
MLflow, the prediction log's cost, and the issue's targets, each met or not."""

from __future__ import annotations

from collections.abc import Callable

from _report import Figures, Row, dig, format_number, markdown_table, scaled

ANCHORS = ["bentoml", "mlflow"]
CONCURRENCY = ("1", "8", "32")
LOG_COST_TARGET = 0.10
TIMES = "\u00d7"  # the multiplication sign

NOTES = (
    "Notes:",
    "- Ratios: rates are Keel/anchor, times and memory anchor/Keel. Keel's column is with "
    "the prediction log off, as the anchors log nothing; its cost is the next table.",
    "- Load: wrk, one thread, a process of its own; closed loop (each connection sends its "
    "next request when the last is answered). Throughput counts 2xx answers only; a "
    "warm-up of the same shape runs before each measure.",
    "- First answer: from spawning the server's process to the first 200 answer to a "
    "prediction request (polled every 10 ms), median of the starts.",
    "- Memory: PSS summed over the server's processes after the load (its session and every "
    "descendant: BentoML's worker starts a session of its own).",
)


def _rows() -> list[Row]:
    rows = []
    for c in CONCURRENCY:
        rows += [
            Row(f"1 row, concurrency {c} (req/s)", scaled(f"concurrency.{c}.rps")),
            Row(f"1 row, concurrency {c}: p50 (ms)", scaled(f"concurrency.{c}.p50_ms"), "lower"),
            Row(f"1 row, concurrency {c}: p99 (ms)", scaled(f"concurrency.{c}.p99_ms"), "lower"),
        ]
    return [
        *rows,
        Row("1,000-row request: p50 (ms)", scaled("batch.p50_ms"), "lower"),
        Row("1,000-row request: p99 (ms)", scaled("batch.p99_ms"), "lower"),
        Row("process start to first answer (s)", scaled("first_answer_s"), "lower"),
        Row("memory after the load (PSS, MiB)", scaled("memory.pss_mib"), "lower", "memory"),
        Row("failed requests (non-2xx, timeouts, socket errors)",
            scaled("failed_requests"), kind="info"),
    ]  # fmt: skip


def _ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def _met(value: float | None, ok: Callable[[float], bool]) -> str:
    return "—" if value is None else ("yes" if ok(value) else "**no**")


def log_cost_table(tools: dict[str, Figures]) -> list[str]:
    off, on = tools.get("keel", {}), tools.get("keel-log", {})
    if "concurrency" not in off or "concurrency" not in on:
        return []
    lines = [
        "| prediction log | log off (req/s) | log 100% (req/s) | throughput cost |"
        " p99 off / on (ms) |",
        "|---|---|---|---|---|",
    ]
    for c in CONCURRENCY:
        a, b = dig(off, f"concurrency.{c}"), dig(on, f"concurrency.{c}")
        cost = 1 - b["rps"] / a["rps"] if a["rps"] else None
        lines.append(
            f"| 1 row, concurrency {c} | {format_number(a['rps'])} | {format_number(b['rps'])}"
            f" | {_percent(cost)} | {format_number(a['p99_ms'])} / {format_number(b['p99_ms'])} |"
        )
    return ["", *lines, *_log_checks(off, on)]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _log_checks(off: Figures, on: Figures) -> list[str]:
    """Whether the two runs did log as configured; a cost without that is meaningless."""
    lines = []
    logged_off, logged_on = dig(off, "prediction_log.rows"), dig(on, "prediction_log.rows")
    if logged_on is not None:
        lines.append("")
        lines.append(
            f"Rows in the prediction log after the runs: log off {logged_off:,}, "
            f"log 100% {logged_on:,} ({dig(on, 'prediction_log.files'):,} Parquet files; "
            f"{dig(on, 'prediction_log.spooled_rows'):,} rows left in the spool); "
            f"rows predicted with the log on: {dig(on, 'rows_predicted'):,}."
        )
        if not logged_on:
            lines.append(
                "**The log-on run wrote no prediction: the sampling setting did not take "
                "effect, so the cost above is not the log's.**"
            )
        if logged_off:
            lines.append("**The log-off run wrote predictions: the log was not off.**")
    return lines


def targets_table(tools: dict[str, Figures]) -> list[str]:
    keel, bento, mlflow = (tools.get(key, {}) for key in ("keel", "bentoml", "mlflow"))
    rps = "concurrency.32.rps"
    vs_bento = _ratio(dig(keel, rps), dig(bento, rps))
    vs_mlflow = _ratio(dig(keel, rps), dig(mlflow, rps))
    rows = [
        (f"throughput at c=32 ≥ 3{TIMES} BentoML's", _times(vs_bento),
         _met(vs_bento, lambda r: r >= 3)),
        (f"throughput at c=32 ≥ 10{TIMES} MLflow's", _times(vs_mlflow),
         _met(vs_mlflow, lambda r: r >= 10)),
    ]  # fmt: skip
    for c in CONCURRENCY:
        p99 = f"concurrency.{c}.p99_ms"
        share = _ratio(dig(keel, p99), dig(bento, p99))
        shown = "—" if share is None else f"{share:.2f} of BentoML's"
        rows.append((f"p99 at c={c} ≤ ⅓ of BentoML's", shown, _met(share, lambda s: s <= 1 / 3)))
    first = dig(keel, "first_answer_s")
    shown = "—" if first is None else f"{first:.2f} s"
    rows.append(("a fresh `keel serve` answers in < 1 s", shown, _met(first, lambda s: s < 1)))
    cost = _log_cost(keel, tools.get("keel-log", {}), rps)
    rows.append(
        (
            "the prediction log at 100% costs ≤ 10% of throughput (c=32)",
            _percent(cost),
            _met(cost, lambda x: x <= LOG_COST_TARGET),
        )
    )
    lines = ["", "| target (issue 14) | measured | met |", "|---|---|---|"]
    return lines + [f"| {a} | {b} | {c} |" for a, b, c in rows]


def _log_cost(off: Figures, on: Figures, path: str) -> float | None:
    """The share of throughput lost with the log on; None unless the log-on run did log."""
    before, after = dig(off, path), dig(on, path)
    if not before or after is None or not dig(on, "prediction_log.rows"):
        return None
    return float(1 - after / before)


def _times(ratio: float | None) -> str:
    return "—" if ratio is None else f"{ratio:.2f}{TIMES}"


def _last_lines(text: str, count: int = 6) -> str:
    """The end of an error (a server's log tail can be long), indented under its item."""
    lines = text.strip().splitlines()
    shown = lines[:1] + (["..."] if len(lines) > count + 1 else []) + lines[1:][-count:]
    return "\n  ".join(shown)


def render(results: Figures, labels: dict[str, str]) -> str:
    tools: dict[str, Figures] = results["tools"]
    machine = results["machine"]
    model = results.get("model", {})
    lines = [
        "# Serving benchmark: Keel vs BentoML and `mlflow models serve`",
        "",
        f"- date: {results['date']}; mode: {results['mode']}; command: `{results['command']}`",
        "- machine: {nproc} cores, {cpu_model}, Python {python}, load average at start "
        "{load_average_start}, at end {load_average_end}".format(**machine),
        "- model: a 20-feature scikit-learn LogisticRegression (train accuracy "
        f"{model.get('train_accuracy', 0):.3f}), rebuilt in each server's environment "
        "from the same coefficients; each server's predictions for 8 check rows were "
        "compared with the model's before the load",
        "- settings: {warmup_s} s warm-up, {duration_s} s per concurrency, "
        "{batch_duration_s} s of 1,000-row requests, {starts} start(s)".format(
            **results["settings"]
        ),
    ]
    for key, notes in results.get("notes", {}).items():
        lines += [f"- {labels.get(key, key)}: {note}" for note in notes]
    measured = {key: figures for key, figures in tools.items() if "error" not in figures}
    table_labels = {key: labels.get(key, key) for key in ("keel", *ANCHORS)}
    lines += ["", markdown_table(_rows(), measured, table_labels, ANCHORS)]
    lines += log_cost_table(measured)
    lines += targets_table(measured)
    failures = [f"- {labels.get(key, key)} failed: {_last_lines(figures['error'])}"
                for key, figures in tools.items() if "error" in figures]  # fmt: skip
    if failures:
        lines += ["", "Failures (their columns are empty):", *failures]
    return "\n".join([*lines, "", *NOTES, ""])
