"""Start a tracking server on a loopback port, wait for health, measure it, stop it.

Each server runs in its own session (``start_new_session=True``) so that stopping it
signals its whole process group, and its memory is the sum over every process in that
session, which also counts workers that were re-parented away from the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

HEALTH_POLL_S = 0.05
STOP_GRACE_S = 10.0
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """A server did not start or did not answer; the message ends with its log tail."""


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (bind to port 0, then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loopback_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment, with proxies bypassed for loopback addresses."""
    env = dict(os.environ)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.pop("VIRTUAL_ENV", None)
    env.update(extra or {})
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def is_healthy(url: str) -> bool:
    try:
        with _NO_PROXY_OPENER.open(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def post(url: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
    """POST ``body``; (status, answer), status 0 when nothing answered (not up yet)."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type}
    )
    try:
        with _NO_PROXY_OPENER.open(request, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return 0, b""


@dataclass(eq=False)
class ServerProcess:
    """One started server; use :func:`start_server` to make one."""

    name: str
    process: subprocess.Popen[bytes]
    base_url: str
    health_url: str
    log_path: Path
    startup_s: float = 0.0
    log_file: IO[bytes] | None = field(default=None, repr=False)

    def memory(self) -> dict[str, float]:
        """Resident (RSS) and proportional (PSS) memory of the server's processes, in MiB."""
        processes = server_processes(self.process.pid)
        rss, pss = session_memory_kib(processes)
        return {"rss_mib": rss / 1024, "pss_mib": pss / 1024, "processes": len(processes)}

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL whatever is left after a grace period,
        including descendants that left the group (a server's own session)."""
        strays = [int(proc.name) for proc in server_processes(self.process.pid)]
        _signal_group(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_GRACE_S)
        _signal_group(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=STOP_GRACE_S)
        for pid in strays:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if self.log_file is not None:
            self.log_file.close()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def start_server(
    name: str,
    argv: list[str],
    *,
    port: int,
    health_path: str,
    log_path: Path,
    cwd: Path,
    timeout_s: float = 120.0,
    env: dict[str, str] | None = None,
    ready: Callable[[ServerProcess], bool] | None = None,
    poll_s: float = HEALTH_POLL_S,
) -> ServerProcess:
    """Spawn ``argv`` and return once ``health_path`` answers 200 (or ``ready(server)`` is
    true, e.g. a first prediction answered), polling every ``poll_s``; raise with the log
    tail. ``startup_s`` is the time from spawning to that first answer."""
    log_file = log_path.open("ab")
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=loopback_env(env),
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    server = ServerProcess(
        name, process, base_url, base_url + health_path, log_path, log_file=log_file
    )
    try:
        server.startup_s = _wait_healthy(server, start, timeout_s, ready, poll_s)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_healthy(
    server: ServerProcess,
    start: float,
    timeout_s: float,
    ready: Callable[[ServerProcess], bool] | None,
    poll_s: float,
) -> float:
    deadline = start + timeout_s
    while time.perf_counter() < deadline:
        if ready(server) if ready is not None else is_healthy(server.health_url):
            return time.perf_counter() - start
        code = server.process.poll()
        if code is not None:
            raise ServerError(f"{server.name} exited with {code}:\n{server.log_tail()}")
        time.sleep(poll_s)
    raise ServerError(
        f"{server.name} not healthy at {server.health_url} after {timeout_s:.0f}s:\n"
        f"{server.log_tail()}"
    )


def session_processes(session_id: int) -> list[Path]:
    """The /proc folders of the live processes whose session id is ``session_id``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if _session_of(entry) == session_id:
                found.append(entry)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # the process ended while we looked
    return found


def server_processes(session_id: int) -> list[Path]:
    """The session's live processes and their descendants, also those that started a
    session of their own (BentoML's workers do)."""
    parents: dict[int, int] = {}
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent, session = _parent_and_session(entry)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # the process ended while we looked
        parents[int(entry.name)] = parent
        if session == session_id:
            found.add(int(entry.name))
    while True:
        children = {pid for pid, parent in parents.items() if parent in found} - found
        if not children:
            return [Path(f"/proc/{pid}") for pid in sorted(found)]
        found |= children


def session_memory_kib(processes: list[Path]) -> tuple[int, int]:
    """(RSS, PSS) summed over ``processes``.

    RSS counts the pages that the processes share once per process; PSS splits them.
    """
    rss = pss = 0
    for proc_dir in processes:
        try:
            rss += _field_kib(proc_dir / "status", "VmRSS:")
            pss += _field_kib(proc_dir / "smaps_rollup", "Pss:")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return rss, pss


def _session_of(proc_dir: Path) -> int:
    return _parent_and_session(proc_dir)[1]


def _parent_and_session(proc_dir: Path) -> tuple[int, int]:
    stat = (proc_dir / "stat").read_text()
    # Fields after the parenthesised command: state ppid pgrp session ...
    after_comm = stat[stat.rindex(")") + 2 :].split()
    return int(after_comm[1]), int(after_comm[3])


def _field_kib(path: Path, name: str) -> int:
    for line in path.read_text().splitlines():
        if line.startswith(name):
            return int(line.split()[1])
    return 0  # zombies have neither line
