"""Model cards: what Keel knows about a model version, as Markdown or a self-contained
HTML page: who made it and from what (run, params, metrics, code, data), what it takes
(signature), what it needs (flavor, requirements), and how it was judged (checks,
promotion reviews).

>>> print(registry.card("fraud", 3))                           # doctest: +SKIP
# fraud v3
...

Fetching (:func:`gather`) is kept apart from rendering (:func:`render_markdown`,
:func:`render_html`), which are pure functions of :class:`CardFacts`. Every value is
user text: HTML escapes each one; Markdown escapes table pipes and HTML's specials, so a
renderer that passes raw HTML through cannot be made to run a script.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

from keel.entities.dataset import DatasetInput
from keel.entities.registry import (
    CheckResult,
    ModelVersion,
    PromotionRequest,
    RegisteredModel,
)
from keel.entities.run import TAG_GIT_BRANCH, TAG_GIT_COMMIT, TAG_GIT_DIRTY, Run
from keel.errors import KeelError
from keel.uri import parse_run_artifact_uri

if TYPE_CHECKING:
    from keel.models import ModelManifest
    from keel.registry.client import RegistryClient

DATASET_TAG_PREFIX = "keel.dataset."
NOT_RECORDED = "not recorded"
MAX_DETAILS_CHARS = 200


@dataclass(frozen=True, slots=True)
class CardFacts:
    """Everything a card shows, fetched once."""

    version: ModelVersion
    model: RegisteredModel | None = None
    run: Run | None = None
    manifest: ModelManifest | None = None
    manifest_error: str | None = None
    checks: list[CheckResult] = field(default_factory=list)
    """The latest result of each check, by check name."""
    promotions: list[PromotionRequest] = field(default_factory=list)
    inputs: list[DatasetInput] = field(default_factory=list)
    """The dataset versions the source run used (``keel.log_dataset``)."""


@dataclass(frozen=True, slots=True)
class Table:
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    blocks: list[str | Table]
    """Paragraphs (plain text) and tables, in order."""


def card(
    registry: RegistryClient,
    name: str,
    version: int,
    *,
    fmt: Literal["markdown", "html"] = "markdown",
) -> str:
    if fmt not in ("markdown", "html"):
        from keel.errors import InvalidArgument

        raise InvalidArgument(f"fmt: must be 'markdown' or 'html', got {fmt!r}")
    facts = gather(registry, name, version)
    return render_html(facts) if fmt == "html" else render_markdown(facts)


def gather(registry: RegistryClient, name: str, version: int) -> CardFacts:
    """Fetch what the card shows; lineage that is gone (a deleted run) is left out."""
    from keel.models import ModelManifest

    mv = registry.get_model_version(name, version)
    model = None
    with contextlib.suppress(KeelError):
        model = registry.get_registered_model(name)
    run = None
    with contextlib.suppress(KeelError):
        run = registry.backend.tracking.get_run(mv.run_id)
    manifest, manifest_error = None, None
    try:
        where = parse_run_artifact_uri(mv.source).manifest_path
        raw = b"".join(registry.backend.artifacts.read_chunks(mv.run_id, where))
        manifest = ModelManifest.from_json(raw)
    except KeelError as exc:
        manifest_error = exc.message
    latest: dict[str, CheckResult] = {}
    for result in registry.list_checks(name, version):
        held = latest.get(result.check)
        if held is None or result.created >= held.created:
            latest[result.check] = result
    promotions = [
        p for p in registry.list_promotion_requests(name, max_results=1000) if p.version == version
    ]
    inputs: list[DatasetInput] = []
    with contextlib.suppress(KeelError):  # a store without datasets (keel server, for now)
        inputs = registry.backend.datasets.run_inputs(mv.run_id)
    return CardFacts(
        version=mv,
        model=model,
        run=run,
        manifest=manifest,
        manifest_error=manifest_error,
        checks=[latest[check] for check in sorted(latest)],
        promotions=sorted(promotions, key=lambda p: p.id),
        inputs=inputs,
    )


# content --------------------------------------------------------------------------------


def title(facts: CardFacts) -> str:
    return f"{facts.version.name} v{facts.version.version}"


def sections(facts: CardFacts) -> list[Section]:
    """The card's content, in order, independent of the output format."""
    return [
        _overview(facts),
        _lineage(facts),
        _signature(facts),
        _packaging(facts),
        _checks(facts),
        _reviews(facts),
    ]


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _overview(facts: CardFacts) -> Section:
    mv = facts.version
    rows = [
        ("Model", mv.name),
        ("Version", str(mv.version)),
        ("Status", str(mv.status)),
        ("Aliases", ", ".join(sorted(mv.aliases)) or "none"),
        ("Created", _when(mv.created)),
        ("Created by", mv.created_by),
        ("Source", mv.source),
        ("Content hash", mv.content_hash),
        ("Parent version", "none" if mv.parent_version is None else str(mv.parent_version)),
    ]
    rows += [(f"Tag {key}", value) for key, value in sorted(mv.tags.items())]
    blocks: list[str | Table] = []
    if mv.description:
        blocks.append(mv.description)
    if facts.model is not None and facts.model.description:
        blocks.append(f"Model: {facts.model.description}")
    blocks.append(Table(("Field", "Value"), rows))
    return Section("Overview", blocks)


def _lineage(facts: CardFacts) -> Section:
    run = facts.run
    if run is None:
        return Section("Source run", [f"Run {facts.version.run_id}: {NOT_RECORDED} (not found)"])
    tags = run.data.tags
    commit = tags.get(TAG_GIT_COMMIT)
    code = NOT_RECORDED
    if commit:
        dirty = tags.get(TAG_GIT_DIRTY) == "true"
        code = f"{commit}{' (uncommitted changes)' if dirty else ' (clean)'}"
        if tags.get(TAG_GIT_BRANCH):
            code += f" on {tags[TAG_GIT_BRANCH]}"
    blocks: list[str | Table] = [
        Table(
            ("Field", "Value"),
            [
                ("Run", run.info.run_name),
                ("Run URI", f"runs:/{run.run_id}"),
                ("Started", _when(run.info.start_time)),
                ("Status", str(run.info.status)),
                ("Git commit", code),
            ],
        ),
        "Parameters",
        _pairs(("Parameter", "Value"), run.data.params),
        "Metrics",
        _pairs(("Metric", "Value"), {k: f"{v:.6g}" for k, v in run.data.metrics.items()}),
        "Datasets",
    ]
    datasets = {
        key.removeprefix(DATASET_TAG_PREFIX): value
        for key, value in tags.items()
        if key.startswith(DATASET_TAG_PREFIX)
    }
    if facts.inputs:
        blocks.append(
            Table(
                ("Dataset version", "Used for"),
                [(f"datasets:/{i.name}@{i.version}", i.context) for i in facts.inputs],
            )
        )
    if datasets:
        blocks.append(_pairs(("Training data fingerprint", "Value"), datasets))
    if not facts.inputs and not datasets:
        blocks.append(f"Dataset versions: {NOT_RECORDED}")
    return Section("Source run", blocks)


def _pairs(headers: tuple[str, str], values: dict[str, str]) -> str | Table:
    if not values:
        return NOT_RECORDED
    return Table(headers, [(key, values[key]) for key in sorted(values)])


def _signature(facts: CardFacts) -> Section:
    signature = facts.manifest.signature if facts.manifest is not None else None
    if signature is None and facts.version.signature:
        from keel.models import Signature

        with contextlib.suppress(KeelError, ValueError):
            signature = Signature.from_dict(json.loads(facts.version.signature))
    if signature is None:
        return Section("Signature", [f"Signature: {NOT_RECORDED}"])
    blocks: list[str | Table] = []
    for label, spec in (("Inputs", signature.inputs), ("Outputs", signature.outputs)):
        if spec is None:
            continue
        blocks.append(label)
        if isinstance(spec, tuple):
            blocks.append(
                Table(
                    ("Column", "Type", "Optional", "Shape"),
                    [
                        (
                            c.name,
                            c.dtype,
                            "yes" if c.optional else "no",
                            "" if c.shape is None else str(list(c.shape)),
                        )
                        for c in spec
                    ],
                )
            )
        else:
            blocks.append(Table(("Tensor type", "Shape"), [(spec.dtype, str(list(spec.shape)))]))
    return Section("Signature", blocks)


def _packaging(facts: CardFacts) -> Section:
    manifest = facts.manifest
    if manifest is None:
        return Section(
            "Flavor and requirements", [f"Manifest: {facts.manifest_error or NOT_RECORDED}"]
        )
    return Section(
        "Flavor and requirements",
        [
            Table(
                ("Field", "Value"),
                [
                    ("Flavor", manifest.flavor),
                    ("Python", manifest.python_version),
                    ("Keel", manifest.keel_version),
                ],
            ),
            Table(("Requirement",), [(r,) for r in manifest.requirements])
            if manifest.requirements
            else f"Requirements: {NOT_RECORDED}",
        ],
    )


def _checks(facts: CardFacts) -> Section:
    if not facts.checks:
        return Section("Checks", ["No checks recorded."])
    rows = [
        (
            c.check,
            "passed" if c.passed else "FAILED",
            c.created_by,
            _when(c.created),
            _details(c.details),
        )
        for c in facts.checks
    ]
    return Section("Checks", [Table(("Check", "Result", "By", "When", "Details"), rows)])


def _details(details: object) -> str:
    if not details:
        return ""
    text = json.dumps(details, sort_keys=True, separators=(", ", ": "))
    return text if len(text) <= MAX_DETAILS_CHARS else text[: MAX_DETAILS_CHARS - 1] + "…"


def _reviews(facts: CardFacts) -> Section:
    if not facts.promotions:
        return Section("Promotion reviews", ["No promotion requests."])
    rows = [
        (
            str(p.id),
            p.alias,
            p.requested_by,
            _when(p.created),
            str(p.state),
            p.reviewer or "",
            _when(p.decided),
            p.comment or "",
        )
        for p in facts.promotions
    ]
    headers = ("Request", "Alias", "Requested by", "Requested", "Decision", "Reviewer",
               "Decided", "Comment")  # fmt: skip
    return Section("Promotion reviews", [Table(headers, rows)])


# rendering ------------------------------------------------------------------------------


def _md(text: str) -> str:
    """One line of Markdown text: backslashes and pipes escaped (pipes end table cells),
    newlines folded, links neutralised unless plainly safe (see ``_links``), and HTML's
    specials escaped so raw HTML cannot pass through."""
    text = " ".join(text.splitlines()).replace("\\", "\\\\").replace("|", "\\|")
    return html.escape(_links(text), quote=False)


_LINK = re.compile(r"(!?)\[([^\[\]]*)\]\(([^()]*)\)")
_SAFE_TARGET = re.compile(r"(?:https?://|mailto:)[^\s<>\"'`\\]+", re.IGNORECASE)


def _links(text: str) -> str:
    """Markdown links kept only when they go to an ``http(s)``/``mailto`` address; any
    other (``javascript:``, ``data:``, ``vbscript:``, relative, obfuscated) and every
    image (a remote image tracks whoever opens the card) becomes plain text showing its
    target. Every other bracket is escaped, so no reference-style link or definition can
    form either."""
    out: list[str] = []
    last = 0
    for match in _LINK.finditer(text):
        out.append(_brackets(text[last : match.start()]))
        bang, label, target = match.groups()
        target = target.strip()
        if not bang and _SAFE_TARGET.fullmatch(target):
            out.append(f"[{_brackets(label)}]({target})")
        else:
            kind = "image" if bang else "link"
            out.append(f"{_brackets(label)} ({kind}: `{target.replace('`', '')}`)")
        last = match.end()
    out.append(_brackets(text[last:]))
    return "".join(out)


def _brackets(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def render_markdown(facts: CardFacts) -> str:
    lines = [f"# {_md(title(facts))}", ""]
    for section in sections(facts):
        lines += [f"## {_md(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Table):
                lines.append("| " + " | ".join(_md(h) for h in block.headers) + " |")
                lines.append("|" + "---|" * len(block.headers))
                lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in block.rows]
            else:
                lines.append(_md(block))
            lines.append("")
    return "\n".join(lines)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1a1a1a}table{border-collapse:collapse;margin:.5rem 0 1rem}"
    "th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}h2{border-bottom:1px solid #ddd;padding-bottom:.2rem}"
    "td{word-break:break-word}"
)


def render_html(facts: CardFacts) -> str:
    e = html.escape
    heading = e(title(facts))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{heading}</title><style>{_CSS}</style></head><body>",
        f"<h1>{heading}</h1>",
    ]
    for section in sections(facts):
        parts.append(f"<section><h2>{e(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Table):
                parts.append("<table><thead><tr>")
                parts += [f"<th>{e(h)}</th>" for h in block.headers]
                parts.append("</tr></thead><tbody>")
                for row in block.rows:
                    parts.append("<tr>" + "".join(f"<td>{e(cell)}</td>" for cell in row) + "</tr>")
                parts.append("</tbody></table>")
            else:
                parts.append(f"<p>{e(block)}</p>")
        parts.append("</section>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
