"""System metrics: CPU, memory, disk, network and NVIDIA GPUs, sampled while a run runs.

>>> with keel.start_run(log_system_metrics=True):      # doctest: +SKIP
...     train()
>>> keel.enable_system_metrics_logging()               # doctest: +SKIP  (every run from now)

Every ``KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL`` seconds (default 10) a daemon thread
samples the machine and logs one point per metric, step = sample number from 0, named as
MLflow names them (``system/cpu_utilization_percentage``,
``system/system_memory_usage_megabytes``, ``system/gpu_0_utilization_percentage``...).
The points go to the client's background writer like any other metric, so the training
loop never waits for them; the thread stops when the run ends, however it ends, and never
raises into the user's code. psutil is needed (``pip install 'keel-mlops[system-metrics]'``);
GPUs are read through nvidia-ml-py (``pynvml``) when it and a driver are there, and
silently skipped when not.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from keel.config import Settings
from keel.errors import InvalidArgument

logger = logging.getLogger("keel.autologging")

MB = 1e6
"""Megabytes as MLflow counts them (10⁶ bytes), so charts compare."""
INSTALL = "pip install 'keel-mlops[system-metrics]'"

LogMetrics = Callable[[dict[str, float], int], None]
"""Logs one sample: ``log(metrics, step)``."""

_lock = threading.Lock()
_enabled: bool | None = None
"""Set by enable/disable_system_metrics_logging; None: as KEEL_ENABLE_SYSTEM_METRICS_LOGGING."""
_interval: float | None = None
"""Set by set_system_metrics_sampling_interval; None: as KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL."""


def enable_system_metrics_logging() -> None:
    """Log system metrics in every run started from now on (``keel.start_run`` without
    ``log_system_metrics=False``)."""
    global _enabled
    _require_psutil("enable_system_metrics_logging")
    with _lock:
        _enabled = True


def disable_system_metrics_logging() -> None:
    """Stop logging system metrics in runs started from now on (unless one asks for it
    with ``log_system_metrics=True``)."""
    global _enabled
    with _lock:
        _enabled = False


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Sample every ``interval`` seconds in runs started from now on (None: back to
    ``KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL``, default 10), as MLflow's function of the
    same name."""
    global _interval
    if interval is not None:
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise InvalidArgument(f"interval: must be a number of seconds, got {interval!r}")
        if not 0 < interval <= 86_400:
            raise InvalidArgument(
                f"interval: must be more than 0 and at most 86400 seconds, got {interval!r}"
            )
    with _lock:
        _interval = None if interval is None else float(interval)


def sampling_interval(settings: Settings) -> float:
    """Seconds between samples for a run starting now."""
    return settings.system_metrics_sampling_interval if _interval is None else _interval


def wanted(log_system_metrics: bool | None, settings: Settings) -> bool:
    """Whether a run being started logs system metrics. Asked for explicitly without
    psutil: an error that says what to install (before the run is made). Asked for by the
    process-wide switch: a warning, and a run without them."""
    if log_system_metrics is not None and not isinstance(log_system_metrics, bool):
        raise InvalidArgument(
            f"log_system_metrics: must be True, False or None, got {log_system_metrics!r}"
        )
    if log_system_metrics is False:
        return False
    if log_system_metrics:
        _require_psutil("log_system_metrics")
        return True
    if not (settings.enable_system_metrics_logging if _enabled is None else _enabled):
        return False
    if _psutil() is None:
        logger.warning("keel: system metrics need psutil (%s); not logging them", INSTALL)
        return False
    return True


def _psutil() -> Any:
    try:
        return importlib.import_module("psutil")
    except ImportError:
        return None


def _require_psutil(field: str) -> None:
    if _psutil() is None:
        raise InvalidArgument(f"{field}: system metrics need psutil; install it with {INSTALL}")


class SystemMetricsSampler:
    """One sample of the machine, as metrics. ``nvml`` is the ``pynvml`` module (None: it
    is imported if installed); GPUs it cannot reach are skipped silently."""

    def __init__(self, *, disk_path: str = os.sep, nvml: Any = None) -> None:
        import psutil

        self._psutil = psutil
        self._disk_path = disk_path
        psutil.cpu_percent(interval=None)  # the first call only starts the measurement
        network = psutil.net_io_counters()
        self._network_start = (network.bytes_recv, network.bytes_sent) if network else (0, 0)
        self._nvml = nvml
        self._gpus: list[Any] = []
        self._start_gpus()

    def _start_gpus(self) -> None:
        try:
            if self._nvml is None:
                self._nvml = importlib.import_module("pynvml")
            self._nvml.nvmlInit()
            count = self._nvml.nvmlDeviceGetCount()
            self._gpus = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception:  # no nvidia-ml-py, no driver, no GPU: no GPU metrics
            logger.debug("keel: no NVIDIA GPU metrics", exc_info=True)
            self._gpus = []

    def close(self) -> None:
        if self._gpus:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                logger.debug("keel: could not shut NVML down", exc_info=True)
            self._gpus = []

    def sample(self) -> dict[str, float]:
        ps = self._psutil
        memory = ps.virtual_memory()
        disk = ps.disk_usage(self._disk_path)
        metrics = {
            "system/cpu_utilization_percentage": float(ps.cpu_percent(interval=None)),
            "system/system_memory_usage_megabytes": memory.used / MB,
            "system/system_memory_usage_percentage": 100.0 * memory.used / memory.total,
            "system/disk_usage_megabytes": disk.used / MB,
            "system/disk_usage_percentage": float(disk.percent),
            "system/disk_available_megabytes": disk.free / MB,
        }
        network = ps.net_io_counters()
        if network is not None:
            received, sent = self._network_start
            metrics["system/network_receive_megabytes"] = (network.bytes_recv - received) / MB
            metrics["system/network_transmit_megabytes"] = (network.bytes_sent - sent) / MB
        for index, handle in enumerate(self._gpus):
            try:
                metrics.update(self._gpu(index, handle))
            except Exception:
                logger.debug("keel: could not read GPU %d", index, exc_info=True)
        return metrics

    def _gpu(self, index: int, handle: Any) -> dict[str, float]:
        nvml = self._nvml
        prefix = f"system/gpu_{index}_"
        memory = nvml.nvmlDeviceGetMemoryInfo(handle)
        rates = nvml.nvmlDeviceGetUtilizationRates(handle)
        out = {
            f"{prefix}utilization_percentage": float(rates.gpu),
            f"{prefix}memory_usage_megabytes": memory.used / MB,
            f"{prefix}memory_usage_percentage": 100.0 * memory.used / memory.total,
        }
        try:  # not every board reports power
            power = nvml.nvmlDeviceGetPowerUsage(handle) / 1000  # milliwatts
            limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000
            out[f"{prefix}power_usage_watts"] = power
            out[f"{prefix}power_usage_percentage"] = 100.0 * power / limit
        except Exception:
            pass
        return out


class SystemMetricsMonitor:
    """A daemon thread that logs a sample every ``interval`` seconds until :meth:`stop`."""

    def __init__(
        self,
        log: LogMetrics,
        *,
        interval: float,
        sampler: Callable[[], SystemMetricsSampler] = SystemMetricsSampler,
        name: str = "keel-system-metrics",
    ) -> None:
        self._log = log
        self._interval = interval
        self._make_sampler = sampler
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.samples = 0
        """Samples logged so far."""

    def start(self) -> SystemMetricsMonitor:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sampling and wait (at most ``timeout`` seconds) for the thread to end."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            sampler = self._make_sampler()
        except Exception:
            logger.warning("keel: could not start system metrics", exc_info=True)
            return
        failures = 0
        try:
            while not self._stop.wait(self._interval):
                try:
                    self._log(sampler.sample(), self.samples)
                    self.samples += 1
                except Exception:
                    failures += 1
                    if failures == 1:  # once: a store that refuses keeps refusing
                        logger.warning("keel: could not log system metrics", exc_info=True)
        finally:
            sampler.close()
