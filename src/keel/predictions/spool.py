"""Files the log could not deliver, kept on this machine and sent later, in the order they
were written.

Each file is written to a temporary name and renamed in, so a crash leaves whole files
or none; its name holds everything needed to send it (when it was spooled, the kind of
log, the deployment, the hour and the file's name), so a later process sends what an
earlier one left. Sending the same file twice replaces it at the destination: nothing is
duplicated when a process dies between sending and removing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from keel.entities.prediction_log import LogKind
from keel.errors import KeelError, StoreUnavailable
from keel.store.prediction_files import PredictionFiles

log = logging.getLogger("keel.predictions")

_SPOOLED = re.compile(
    r"(?P<at>\d{20})~(?P<kind>predictions|feedback)~(?P<deployment>[a-z0-9-]{1,63})"
    r"~(?P<hour>\d{1,16})~(?P<name>[0-9a-f]{12}-\d{6,12})\.parquet"
)


@dataclass(frozen=True, slots=True)
class SpooledFile:
    path: Path
    kind: LogKind
    deployment: str
    hour_ms: int
    name: str


class Spool:
    """A folder of files waiting to be sent (``<KEEL_SPOOL_DIR>/predictions``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def add(self, kind: LogKind, deployment: str, hour_ms: int, name: str, data: bytes) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{time.time_ns():020d}~{kind}~{deployment}~{hour_ms}~{name}.parquet"
        temp = final.with_name(f".{final.name}.tmp")
        with open(temp, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, final)
        return final

    def pending(self) -> list[SpooledFile]:
        """The files waiting, oldest first."""
        try:
            names = sorted(os.listdir(self.folder))
        except FileNotFoundError:
            return []
        found = []
        for name in names:
            match = _SPOOLED.fullmatch(name)
            if match is None:
                continue
            found.append(
                SpooledFile(
                    self.folder / name,
                    match["kind"],  # type: ignore[arg-type]
                    match["deployment"],
                    int(match["hour"]),
                    match["name"],
                )
            )
        return found

    def send(self, files: PredictionFiles) -> int:
        """Send every waiting file in order and remove each once delivered; returns how
        many. Stops at the first failure that may pass (the destination unreachable) and
        raises it: what follows stays in order. A file refused for good (not a Parquet file
        the destination takes, no permission) is set aside."""
        sent = 0
        for spooled in self.pending():
            try:
                data = spooled.path.read_bytes()
            except FileNotFoundError:  # another process sharing the spool sent it
                continue
            try:
                files.put(spooled.kind, spooled.deployment, spooled.hour_ms, spooled.name, data)
            except KeelError as error:
                if not refused_for_good(error):
                    raise
                self.set_aside(spooled, str(error))
                continue
            with contextlib.suppress(FileNotFoundError):
                spooled.path.unlink()
            sent += 1
        return sent

    def set_aside(self, spooled: SpooledFile, reason: str) -> Path:
        """Move a file the destination refused for good into ``rejected/``, kept for a
        person to look at, so that it stops holding back the files behind it."""
        rejected = self.folder / "rejected"
        rejected.mkdir(parents=True, exist_ok=True)
        target = rejected / spooled.path.name
        os.replace(spooled.path, target)
        log.error("prediction log: %s was refused (%s); kept in %s", spooled.name, reason, target)
        return target


def refused_for_good(error: BaseException) -> bool:
    """Whether sending again cannot help: the destination answered and said no. An
    unreachable destination, a disk error or anything unexpected may pass."""
    return isinstance(error, KeelError) and not isinstance(error, StoreUnavailable)
