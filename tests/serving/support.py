"""Helpers for the model server suite: a real ``keel serve`` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from conftest import free_port

ROW = {"f0": 1.0, "f1": 2.0, "f2": 0.5, "f3": 1.0}


class ServeProcess:
    """``keel serve TARGET`` on a loopback port, its output in ``log``."""

    def __init__(self, target: str, log: Path, env: dict[str, str], *args: str) -> None:
        self.target = target
        self.log = log
        self.env = env
        self.args = args
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> ServeProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEL_")}
        env.update(self.env)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "keel", "serve", self.target, "--port", str(self.port),
                 "--log-level", "warning", *self.args],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"keel serve exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/ping", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"keel serve not ready: {self.log.read_text()[-3000:]}")

    def terminate(self) -> None:
        """SIGTERM, as an orchestrator stops a container."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if head.split("{")[0] != name:
            continue
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def predict(url: str, rows: list[dict[str, Any]] | None = None, **kw: Any) -> httpx.Response:
    return httpx.post(f"{url}/predict", json={"records": rows or [ROW]}, timeout=30, **kw)
