"""What a folder's versions leave out: Keel's own store, and what its ``.keelignore`` lists.

A folder named ``.keel`` (an embedded store: its database, artifacts, data cache) is never
part of a dataset, at any depth; nor is the store this machine uses (``KEEL_HOME``, its
database and a local artifact root) when it lies inside the folder. ``.keelignore`` in the
added folder holds gitignore-style patterns, one a line, for paths below that folder:

- ``# comment`` and blank lines are skipped; ``\\#`` and ``\\!`` start a pattern with ``#``
  or ``!``; trailing spaces are dropped;
- ``name`` or ``*.ext`` (no ``/``) matches a file or folder of that name at any depth;
- a pattern with a ``/`` in it, or starting with one (``/build``), is anchored to the
  folder; ``dir/`` matches folders only;
- ``*`` and ``?`` match within one name, ``[a-z]`` one character of a set; ``**/`` any
  folders (none too), ``/**`` everything inside;
- ``!pattern`` takes a path back; the last pattern that matches wins. As in git, nothing
  below an ignored folder can be taken back: the folder is not walked at all.

``.keelignore`` itself is added, as ``.gitignore`` is committed: a folder fetched from a
version leaves out the same files as the folder it was added from.

>>> rules = IgnoreRules.parse("*.tmp\\n!keep.tmp\\n/build/\\n")
>>> [rules.ignored(p, is_dir=d) for p, d in [("a/x.tmp", False), ("keep.tmp", False),
...  ("build", True), ("src/build", True)]]
[True, False, True, False]
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from keel.errors import InvalidArgument
from keel.uri import resolve_tracking_uri

if TYPE_CHECKING:
    from keel.config import Settings

KEEL_FOLDER = ".keel"
IGNORE_FILE = ".keelignore"


class Rule(NamedTuple):
    pattern: re.Pattern[str]
    negated: bool
    folders_only: bool


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """The patterns of one ``.keelignore``, matched against POSIX paths relative to its
    folder."""

    rules: tuple[Rule, ...] = ()

    @classmethod
    def parse(cls, text: str) -> IgnoreRules:
        return cls(tuple(rule for line in text.splitlines() if (rule := _rule(line))))

    @classmethod
    def read(cls, folder: Path) -> IgnoreRules:
        """The rules of ``folder/.keelignore``; none when there is no such file."""
        try:
            text = (folder / IGNORE_FILE).read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return cls()
        return cls.parse(text)

    def ignored(self, relative: str, *, is_dir: bool) -> bool:
        """Whether the last rule that matches ``relative`` leaves it out."""
        ignored = False
        for rule in self.rules:
            if (is_dir or not rule.folders_only) and rule.pattern.fullmatch(relative):
                ignored = not rule.negated
        return ignored


@dataclass(frozen=True, slots=True)
class Ignore:
    """What Keel leaves out of a folder it adds or compares: ``.keel`` folders, ``own``
    paths (the store in use) inside it, and what its ``.keelignore`` lists."""

    own: tuple[str, ...] = ()
    """Absolute paths of the store this machine uses: its home, database, artifact root."""

    def in_folder(self, real_root: Path) -> FolderIgnore:
        """The rules for a walk of ``real_root`` (a resolved folder path)."""
        inside = set()
        for path in self.own:
            real = Path(os.path.realpath(path))
            if real != real_root and real.is_relative_to(real_root):
                inside.add(real.relative_to(real_root).as_posix())
        return FolderIgnore(frozenset(inside), IgnoreRules.read(real_root))


@dataclass(frozen=True, slots=True)
class FolderIgnore:
    own: frozenset[str]
    """Paths of the store in use, relative to the folder walked."""
    rules: IgnoreRules

    def __call__(self, relative: str, name: str, *, is_dir: bool) -> bool:
        if name == KEEL_FOLDER or relative in self.own:
            return True
        return bool(self.rules.rules) and self.rules.ignored(relative, is_dir=is_dir)


def own_paths(settings: Settings) -> tuple[str, ...]:
    """Where the store these settings name keeps its files on this machine: its home, a
    SQLite database (with the files SQLite keeps beside it) and a local artifact root.
    Other filesystems and database servers are no concern of a folder's walk."""
    found = [os.path.abspath(settings.home)]
    artifacts = settings.artifacts_uri
    if settings.tracking_uri:
        try:
            target = resolve_tracking_uri(settings.tracking_uri, artifacts_uri=artifacts)
        except InvalidArgument:  # reported by whatever opens the store
            target = None
        if target is not None and target.uri.startswith("sqlite:///"):
            database = target.uri[len("sqlite:///") :].split("?", 1)[0]
            if database and database != ":memory:":
                database = os.path.abspath(os.path.expanduser(database))
                found.extend(database + suffix for suffix in ("", "-wal", "-shm", "-journal"))
        artifacts = target.artifacts_uri if target is not None else artifacts
    if artifacts and artifacts.startswith("file://"):
        artifacts = artifacts[len("file://") :]
    if artifacts and "://" not in artifacts:
        found.append(os.path.abspath(os.path.expanduser(artifacts)))
    return tuple(found)


def _rule(line: str) -> Rule | None:
    line = line.rstrip("\n\r")
    stripped = line.rstrip(" ")
    if stripped.endswith("\\") and len(line) > len(stripped):
        stripped += " "  # "\ " keeps one trailing space
    line = stripped
    if not line or line.startswith("#"):
        return None
    negated = line.startswith("!")
    if negated or line.startswith(("\\#", "\\!")):  # "!", or a backslash quoting "#" or "!"
        line = line[1:]
    folders_only = line.endswith("/")
    line = line.rstrip("/")
    if not line:
        return None
    anchored = "/" in line
    segments = line.lstrip("/").split("/")
    parts = [] if anchored or segments[0] == "**" else ["(?:.*/)?"]
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            parts.append(".*" if last else "(?:.*/)?")
        else:
            parts.append(_glob(segment) + ("" if last else "/"))
    return Rule(re.compile("".join(parts), re.DOTALL), negated, folders_only)


def _glob(segment: str) -> str:
    """One name's pattern as a regular expression: ``*``, ``?``, ``[...]``, ``\\x``."""
    out = []
    i, n = 0, len(segment)
    while i < n:
        c = segment[i]
        i += 1
        if c == "*":
            while i < n and segment[i] == "*":
                i += 1
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i < n:
            out.append(re.escape(segment[i]))
            i += 1
        elif c == "[":
            end = i + 1 if i < n and segment[i] in "!^" else i
            end = end + 1 if end < n and segment[end] == "]" else end
            end = segment.find("]", end)
            if end < 0:
                out.append(re.escape(c))
                continue
            body = segment[i:end]
            i = end + 1
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            for special in "\\^[]":
                body = body.replace(special, "\\" + special)
            out.append(f"[{'^/' if negate else ''}{body}]")
        else:
            out.append(re.escape(c))
    return "".join(out)
