"""Where a round trains: CUDA with native bf16 or else fp16, the CPU otherwise (bf16 where it has it natively);
torch's CUDA and CPU-feature queries are faked here (no GPU in CI), the decision logic is the real one."""

from __future__ import annotations

import pytest
import torch

from core.errors import TrainingError
from training.device import select_device


def fake_gpu(monkeypatch: pytest.MonkeyPatch, name: str, native_bf16: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: name)
    # torch reports emulated bf16 as supported unless including_emulation=False is passed
    monkeypatch.setattr(torch.cuda, "is_bf16_supported",
                        lambda including_emulation=True: native_bf16 or including_emulation)


@pytest.fixture(autouse=True)
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_ampere_or_newer_trains_in_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpu(monkeypatch, "NVIDIA H100 80GB HBM3", native_bf16=True)
    choice = select_device("auto", num_threads=2)
    assert (choice.kind, choice.precision, choice.name) == ("cuda", "bf16", "NVIDIA H100 80GB HBM3")


def test_t4_and_v100_train_in_fp16(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpu(monkeypatch, "Tesla T4", native_bf16=False)
    assert select_device("auto", num_threads=2).precision == "fp16"


def test_cpu_can_be_forced_and_gets_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpu(monkeypatch, "Tesla T4", native_bf16=False)
    monkeypatch.setattr("training.device.native_cpu_bf16", lambda: False)
    choice = select_device("cpu", num_threads=1)
    assert (choice.kind, choice.precision, choice.threads) == ("cpu", "fp32", 1)
    assert torch.get_num_threads() == 1


def test_cuda_asked_for_without_a_gpu_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TrainingError) as info:
        select_device("cuda")
    assert str(info.value) == ("--device cuda was asked for but torch sees no CUDA device (install a CUDA build of "
                               "torch, or pass --device auto)")


def test_threads_are_shared_between_local_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("training.device.usable_cpus", lambda: 8)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")
    assert select_device("auto").threads == 2


def test_a_cpu_with_native_bf16_trains_in_bf16_unless_held_to_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("training.device.native_cpu_bf16", lambda: True)
    assert select_device("auto", num_threads=1).describe() == "cpu (cpu, bf16, 1 threads)"
    assert select_device("auto", num_threads=1, precision="fp32").precision == "fp32"


def test_a_cpu_without_native_bf16_trains_in_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("training.device.native_cpu_bf16", lambda: False)
    assert select_device("auto", num_threads=1).precision == "fp32"


def test_bf16_on_a_cpu_without_it_runs_and_says_it_is_slow(monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("training.device.native_cpu_bf16", lambda: False)
    assert select_device("cpu", num_threads=1, precision="bf16").precision == "bf16"
    assert caplog.messages == ["precision bf16 on a CPU without AVX512-BF16 or AMX: torch emulates it, usually "
                               "slower than fp32; set NERLOOP_TRAIN__PRECISION=auto"]


def test_a_gpu_can_be_held_to_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_gpu(monkeypatch, "NVIDIA H100 80GB HBM3", native_bf16=True)
    assert select_device("auto", num_threads=1, precision="fp32").precision == "fp32"


def test_an_unknown_precision_says_what_is_accepted() -> None:
    with pytest.raises(TrainingError) as info:
        select_device("cpu", precision="fp8")
    assert str(info.value) == "precision 'fp8' is not one of auto, fp32, bf16 (pass auto)"
