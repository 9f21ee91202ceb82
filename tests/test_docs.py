"""What README.md and docs/*.md show works: every ``keel ...`` command names commands and
options the real CLI has, every ``make`` target exists, and every Python snippet runs.

Commands are checked, not run: each is parsed by the real click command behind the
Typer app, so an unknown command or option, or an argument too many, fails here. A
Python block that cannot run on its own (it needs a trained model, a data file, a
server) says so in the markdown, right before its fence::

    <!-- not-run: needs a fitted model -->

so skipping one is visible and deliberate. Every other Python block runs in a fresh
interpreter, in an empty folder, against an embedded store of its own.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup

from keel.cli.main import build_app

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
NOT_RUN = re.compile(r"^<!--\s*not-run:\s*(\S.*?)\s*-->$")
INLINE = re.compile(r"(?<!`)`(keel [^`]+)`(?!`)")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
SHELL_BLOCKS = {"bash", "sh", "shell", "console", "zsh"}


@dataclass(frozen=True)
class Block:
    """A fenced block: its language, first line of content (1-based) and text."""

    path: Path
    line: int
    language: str
    text: str
    not_run: str | None  # the reason given in a `<!-- not-run: ... -->` before the fence

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opened = FENCE.match(lines[i])
        if not opened:
            i += 1
            continue
        indent, language = opened.groups()
        before = next((b.strip() for b in reversed(lines[:i]) if b.strip()), "")
        marker = NOT_RUN.match(before)
        end = i + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        body = [line.removeprefix(indent) for line in lines[i + 1 : end]]
        found.append(
            Block(path, i + 2, language.lower(), "\n".join(body), marker and marker.group(1))
        )
        i = end + 1
    return found


ALL_BLOCKS = [block for path in DOCUMENTS for block in blocks(path)]


# commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    where: str
    argv: tuple[str, ...]

    @property
    def id(self) -> str:
        return f"{self.where} {' '.join(self.argv)}"[:100]


def shell_commands(block: Block) -> list[Command]:
    """The commands of a shell block: continuation lines joined, comments dropped, each
    side of a `` | `` on its own, leading ``VAR=value`` assignments left out."""
    found = []
    logical = block.text.replace("\\\n", " ")
    for offset, line in enumerate(logical.splitlines()):
        for part in line.split(" | "):
            words = shlex.split(part, comments=True)
            while words and ENV_ASSIGNMENT.match(words[0]):
                words.pop(0)
            if words:
                found.append(Command(f"{block.where.rsplit(':', 1)[0]}:{block.line + offset}",
                                     tuple(words)))  # fmt: skip
    return found


def inline_commands(path: Path) -> list[Command]:
    """``keel ...`` in inline code, in prose."""
    found = []
    in_fence = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            for match in INLINE.finditer(line):
                found.append(
                    Command(f"{path.relative_to(ROOT)}:{number}", tuple(shlex.split(match[1])))
                )
    return found


SHELL = [c for b in ALL_BLOCKS if b.language in SHELL_BLOCKS for c in shell_commands(b)]
KEEL_COMMANDS = [c for c in SHELL if c.argv[0] == "keel"] + [
    c for path in DOCUMENTS for c in inline_commands(path)
]
MAKE_COMMANDS = [c for c in SHELL if c.argv[0] == "make"]

CLI = typer.main.get_command(build_app())


class Refused(Exception):
    """The CLI would refuse this command line."""


def check_command(argv: tuple[str, ...]) -> None:
    """Raise ``Refused`` unless the real CLI takes ``argv`` (``keel`` first): every
    command and option must exist, and no argument may be left over. Values are parsed
    into place, not converted, so placeholders (RUN_ID, a file that is not here) pass."""
    command = CLI
    args = list(argv[1:])
    path = ["keel"]
    while isinstance(command, TyperGroup):
        context = typer.Context(command, info_name=" ".join(path))
        if not args:
            return  # a group alone prints its help
        word = args.pop(0)
        if word.startswith("-"):
            option = next((p for p in command.params if word in p.opts), None)
            if option is None:
                raise Refused(f"{' '.join(path)}: no such option {word}")
            if getattr(option, "is_flag", False) and option.is_eager:
                return  # --help, --version: nothing after them is read
            raise Refused(f"{word}: the checker reads no group option that takes a value")
        sub = command.get_command(context, word)
        if sub is None:
            raise Refused(f"no such command {word!r} under {' '.join(path)}")
        command = sub
        path.append(word)
    if "--help" in args:
        return
    context = typer.Context(command, info_name=" ".join(path))
    try:
        _, left, _ = command.make_parser(context).parse_args(args=args)
    except typer.TyperException as error:  # the parser's NoSuchOption, BadOptionUsage, ...
        raise Refused(f"{' '.join(path)}: {error.format_message()}") from None
    if left:
        raise Refused(f"{' '.join(path)}: unexpected extra arguments {left}")


def test_the_documents_show_commands() -> None:
    # The extraction itself must keep finding what the documents hold.
    assert len(KEEL_COMMANDS) >= 30
    assert {c.argv[1] for c in KEEL_COMMANDS} >= {"server", "runs", "models", "data"}
    assert MAKE_COMMANDS


@pytest.mark.parametrize("command", KEEL_COMMANDS, ids=lambda c: c.id)
def test_each_keel_command_matches_the_cli(command: Command) -> None:
    try:
        check_command(command.argv)
    except Refused as error:
        pytest.fail(f"{command.where}: {' '.join(command.argv)}: {error}")


def test_the_checker_refuses_what_the_cli_refuses() -> None:
    for wrong in (
        ("keel", "runs", "show", "RUN", "-e", "churn"),  # runs show takes no experiment
        ("keel", "runs", "shows"),
        ("keel", "artifacts", "upload", "RUN", "a", "b"),  # one local path
        ("keel", "--verbose"),
    ):
        with pytest.raises(Refused):
            check_command(wrong)
    check_command(("keel", "artifacts", "upload", "RUN", "model.pkl", "-p", "model"))
    check_command(("keel", "--version"))


def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):", text, flags=re.MULTILINE))


@pytest.mark.parametrize("command", MAKE_COMMANDS, ids=lambda c: c.id)
def test_each_make_target_exists(command: Command) -> None:
    assert set(command.argv[1:]) <= make_targets(), command.where


# Python snippets ---------------------------------------------------------------------------

PYTHON = [b for b in ALL_BLOCKS if b.language in ("python", "py")]


def test_not_run_markers_stand_before_python_blocks() -> None:
    # A marker that ended up before another kind of block (or none) hides nothing: flag it.
    for path in DOCUMENTS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if NOT_RUN.match(line.strip()):
                after = next((n for n in lines[number + 1 :] if n.strip()), "")
                assert re.match(r"\s*```(python|py)\s*$", after), (
                    f"{path.relative_to(ROOT)}:{number + 1}: not-run marker before {after!r}"
                )


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.where)
def test_each_python_snippet_runs(block: Block, tmp_path: Path) -> None:
    if block.not_run:
        pytest.skip(f"not-run in the markdown: {block.not_run}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
    env["KEEL_HOME"] = str(tmp_path / ".keel")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    done = subprocess.run(
        [sys.executable, "-c", block.text],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{block.where}:\n{done.stderr[-3000:]}"
