"""System metrics: ``keel.start_run(log_system_metrics=True)`` and
``keel.enable_system_metrics_logging()`` sample the machine into the run, on every store."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

import keel
from keel.autologging import system_metrics
from keel.autologging.system_metrics import SystemMetricsMonitor, SystemMetricsSampler
from keel.config import Settings
from keel.errors import InvalidArgument

psutil = pytest.importorskip("psutil")

Reader = Callable[[], keel.Client]
CPU = "system/cpu_utilization_percentage"


@pytest.fixture
def experiment(tracking: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    # Read when the fluent API's client is made, on its first use below.
    monkeypatch.setenv("KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL", "0.2")
    made = keel.set_experiment(f"sysmetrics-{uuid.uuid4().hex[:10]}")
    try:
        yield made.experiment_id
    finally:
        keel.disable_system_metrics_logging()
        system_metrics._enabled = None
        keel.set_system_metrics_sampling_interval(None)


def _monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "keel-system-metrics"]


def test_a_run_logs_system_metrics_every_interval_until_it_ends(
    experiment: str, reader: Reader
) -> None:
    with keel.start_run(log_system_metrics=True) as run:
        assert len(_monitor_threads()) == 1
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:  # a training loop, kept busy
            sum(i * i for i in range(10_000))
    assert _monitor_threads() == []  # stopped with the run

    client = reader()
    cpu = sorted((p.step, p.value) for p in client.get_metric_history(run.run_id, CPU))
    assert 3 <= len(cpu) <= 6  # 1 s at 0.2 s
    assert [step for step, _ in cpu] == list(range(len(cpu)))
    assert all(0.0 <= value <= 100.0 for _, value in cpu)
    assert max(value for _, value in cpu) > 0.0  # the loop kept a core busy

    metrics = client.get_run(run.run_id).data.metrics
    memory = psutil.virtual_memory()
    assert metrics["system/system_memory_usage_megabytes"] == pytest.approx(
        memory.used / 1e6, rel=0.5
    )
    assert 0.0 < metrics["system/system_memory_usage_percentage"] <= 100.0
    disk = psutil.disk_usage("/")
    assert metrics["system/disk_usage_megabytes"] == pytest.approx(disk.used / 1e6, rel=0.05)
    assert metrics["system/disk_usage_percentage"] == pytest.approx(disk.percent, abs=2.0)
    assert metrics["system/disk_available_megabytes"] == pytest.approx(disk.free / 1e6, rel=0.05)
    assert metrics["system/network_receive_megabytes"] >= 0.0
    assert metrics["system/network_transmit_megabytes"] >= 0.0

    # Nothing lands after the end.
    count = len(cpu)
    time.sleep(0.5)
    assert len(reader().get_metric_history(run.run_id, CPU)) == count


def test_enable_and_disable_switch_it_for_every_run(experiment: str, reader: Reader) -> None:
    keel.enable_system_metrics_logging()
    with keel.start_run() as on:
        time.sleep(0.5)
    with keel.start_run(log_system_metrics=False) as refused:
        time.sleep(0.5)
    keel.disable_system_metrics_logging()
    with keel.start_run() as off:
        time.sleep(0.5)
    client = reader()
    assert len(client.get_metric_history(on.run_id, CPU)) >= 1
    assert len(client.get_metric_history(refused.run_id, CPU)) == 0
    assert len(client.get_metric_history(off.run_id, CPU)) == 0


def test_a_failed_run_stops_its_monitor(experiment: str, reader: Reader) -> None:
    with pytest.raises(RuntimeError), keel.start_run(log_system_metrics=True) as run:
        time.sleep(0.3)
        raise RuntimeError("training diverged")
    assert _monitor_threads() == []
    assert reader().get_run(run.run_id).info.status == keel.RunStatus.FAILED
    assert len(reader().get_metric_history(run.run_id, CPU)) >= 1


def test_without_psutil_asking_says_what_to_install_and_starts_no_run(
    experiment: str, reader: Reader, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil now fails
    with pytest.raises(InvalidArgument, match=r"keel-mlops\[system-metrics\]"):
        keel.start_run(log_system_metrics=True)
    with pytest.raises(InvalidArgument, match=r"enable_system_metrics_logging: .*psutil"):
        keel.enable_system_metrics_logging()
    assert keel.active_run() is None
    assert list(reader().search_runs(experiment).runs) == []


def test_a_bad_switch_value_is_refused(experiment: str) -> None:
    with pytest.raises(InvalidArgument, match="log_system_metrics: must be True, False or None"):
        keel.start_run(log_system_metrics="yes")  # type: ignore[arg-type]
    assert keel.active_run() is None


def test_set_system_metrics_sampling_interval_overrides_the_setting(
    experiment: str, reader: Reader
) -> None:
    settings = Settings.from_env({"KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL": "0.2"})
    keel.set_system_metrics_sampling_interval(0.5)  # MLflow's name, for runs from now on
    assert system_metrics.sampling_interval(settings) == 0.5
    with keel.start_run(log_system_metrics=True) as run:
        time.sleep(1.2)
    points = reader().get_metric_history(run.run_id, CPU)
    assert 1 <= len(points) <= 3  # 1.2 s at 0.5 s, not at the environment's 0.2 s
    keel.set_system_metrics_sampling_interval(None)
    assert system_metrics.sampling_interval(settings) == 0.2
    for bad in (0, -1, "fast", True, 86_401):
        with pytest.raises(InvalidArgument, match="interval"):
            keel.set_system_metrics_sampling_interval(bad)  # type: ignore[arg-type]
    assert system_metrics.sampling_interval(settings) == 0.2  # a refusal changes nothing


def test_settings_read_the_interval_and_the_switch() -> None:
    settings = Settings.from_env(
        {
            "KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL": "2.5",
            "KEEL_ENABLE_SYSTEM_METRICS_LOGGING": "true",
        }
    )
    assert settings.system_metrics_sampling_interval == 2.5
    assert settings.enable_system_metrics_logging is True
    defaults = Settings.from_env({})
    assert (defaults.system_metrics_sampling_interval, defaults.enable_system_metrics_logging) == (
        10.0,
        False,
    )
    with pytest.raises(InvalidArgument, match="KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL"):
        Settings.from_env({"KEEL_SYSTEM_METRICS_SAMPLING_INTERVAL": "0"})
    with pytest.raises(InvalidArgument, match="KEEL_ENABLE_SYSTEM_METRICS_LOGGING"):
        Settings.from_env({"KEEL_ENABLE_SYSTEM_METRICS_LOGGING": "maybe"})


# the sampler and the thread, without a store -------------------------------------------


class FakeNvml:
    """What nvidia-ml-py answers for one GPU (this machine may have none)."""

    def __init__(self, *, broken: bool = False) -> None:
        self.broken = broken
        self.shut = False

    def nvmlInit(self) -> None:
        if self.broken:
            raise OSError("NVML Shared Library Not Found")

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        return SimpleNamespace(used=20_000_000_000, total=80_000_000_000)

    def nvmlDeviceGetUtilizationRates(self, handle: str) -> Any:
        return SimpleNamespace(gpu=87, memory=40)

    def nvmlDeviceGetPowerUsage(self, handle: str) -> int:
        return 350_000  # milliwatts

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: str) -> int:
        return 700_000

    def nvmlShutdown(self) -> None:
        self.shut = True


def test_gpu_metrics_use_mlflow_names_and_units() -> None:
    nvml = FakeNvml()
    sampler = SystemMetricsSampler(nvml=nvml)
    sample = sampler.sample()
    assert sample["system/gpu_0_utilization_percentage"] == 87.0
    assert sample["system/gpu_0_memory_usage_megabytes"] == 20_000.0
    assert sample["system/gpu_0_memory_usage_percentage"] == 25.0
    assert sample["system/gpu_0_power_usage_watts"] == 350.0
    assert sample["system/gpu_0_power_usage_percentage"] == 50.0
    sampler.close()
    assert nvml.shut


def test_no_gpu_or_driver_is_skipped_silently() -> None:
    sample = SystemMetricsSampler(nvml=FakeNvml(broken=True)).sample()
    assert CPU in sample
    assert not any(key.startswith("system/gpu_") for key in sample)


def test_a_failing_store_never_reaches_the_user_and_sampling_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def log(metrics: dict[str, float], step: int) -> None:
        calls.append(step)
        raise ConnectionError("store down")

    monitor = SystemMetricsMonitor(log, interval=0.05).start()
    time.sleep(0.4)
    monitor.stop()
    assert len(calls) >= 3  # kept trying
    assert caplog.text.count("could not log system metrics") == 1  # said once
    assert not monitor._thread.is_alive()
