"""Turn the collected figures into a Markdown table with Keel-to-anchor ratios."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Figures = dict[str, Any]
Better = Literal["higher", "lower"]
Kind = Literal["speed", "memory", "info"]


@dataclass(frozen=True)
class Row:
    """One measure: where its number is in a tool's figures, and which way is better."""

    label: str
    value: Callable[[Figures], float | None]
    better: Better = "higher"
    kind: Kind = "speed"
    # Dotted path to the per-tool count, to name N in the label when tools differ.
    count_path: str | None = None


def dig(figures: Figures, path: str) -> Any:
    """``dig(f, "search.2000.median_s")``; None when any step is missing."""
    node: Any = figures
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def scaled(path: str, factor: float = 1.0) -> Callable[[Figures], float | None]:
    def get(figures: Figures) -> float | None:
        value = dig(figures, path)
        return None if value is None else float(value) * factor

    return get


def format_number(value: float | None) -> str:
    if value is None:
        return "—"
    magnitude = abs(value)
    if magnitude < 1000 and value == int(value):
        return str(int(value))
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def ratio_text(keel: float | None, anchor: float | None, row: Row) -> str:
    """How Keel compares: '3.2x faster', '1.5x slower', '2.0x smaller' (with a times sign)."""
    if row.kind == "info" or keel is None or anchor is None or keel <= 0 or anchor <= 0:
        return "—"
    ratio = keel / anchor if row.better == "higher" else anchor / keel
    good, bad = ("smaller", "larger") if row.kind == "memory" else ("faster", "slower")
    if ratio >= 1:
        return f"{_times(ratio)} {good}"
    return f"{_times(1 / ratio)} {bad}"


def _times(ratio: float) -> str:
    sign = "\u00d7"  # the multiplication sign
    return f"{ratio:,.0f}{sign}" if ratio >= 10 else f"{ratio:.1f}{sign}"


def _count_note(row: Row, tools: dict[str, Figures], labels: dict[str, str]) -> str:
    if row.count_path is None:
        return ""
    counts = {key: dig(fig, row.count_path) for key, fig in tools.items()}
    present = {key: count for key, count in counts.items() if count is not None}
    if not present:
        return ""
    if len(set(present.values())) == 1:
        return f"; N={next(iter(present.values())):,}"
    short = {key: labels[key].split()[0] for key in present}
    return "; N: " + ", ".join(f"{short[key]} {count:,}" for key, count in present.items())


def markdown_table(
    rows: list[Row], tools: dict[str, Figures], labels: dict[str, str], anchors: list[str]
) -> str:
    """``tools`` maps a tool key to its figures; Keel is compared with each anchor."""
    header = ["measure", labels["keel"], *(labels[a] for a in anchors)]
    header += [f"Keel/{labels[a].split()[0]}" for a in anchors]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    keel_figures = tools.get("keel", {})
    for row in rows:
        keel_value = row.value(keel_figures) if keel_figures else None
        anchor_values = [row.value(tools[a]) if a in tools else None for a in anchors]
        if keel_value is None and all(v is None for v in anchor_values):
            continue
        label = _with_note(row.label, _count_note(row, tools, labels))
        cells = [label, format_number(keel_value), *map(format_number, anchor_values)]
        cells += [ratio_text(keel_value, value, row) for value in anchor_values]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _with_note(label: str, note: str) -> str:
    """Put a count note inside the label's closing parenthesis: 'x (points/s; N=5,000)'."""
    if not note:
        return label
    if label.endswith(")"):
        return label[:-1] + note + ")"
    return f"{label} ({note[2:]})"


def machine_summary() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_start": os.getloadavg(),
    }


def _proc_field(path: str, prefix: str) -> str | None:
    """The text after ``prefix`` on the first matching line of a /proc file."""
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if line.startswith(prefix):
                    return line[len(prefix) :].strip().lstrip(":").strip()
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    return _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"


def _memory_gib() -> float | None:
    total = _proc_field("/proc/meminfo", "MemTotal:")
    return round(int(total.split()[0]) / 1024 / 1024, 1) if total else None
