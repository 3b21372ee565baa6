"""The engine's CUDA paths: bf16 and fp16 steps, the GradScaler, CUDA RNG in resume, NCCL, --device auto.

Marked ``gpu`` and skipped without CUDA; ``bench/gpu.sh`` runs them on a GPU machine.
"""

from __future__ import annotations

import pytest
import torch

from nlpkit.training import RunOptions
from tests.test_training import ToyTask, _die_at, run_toy

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]


def test_device_auto_picks_cuda():
    from nlpkit.device import resolve_device

    assert resolve_device("auto").type == "cuda"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_steps_train_on_cuda(tmp_path, precision):
    model, engine = run_toy(tmp_path / precision, ToyTask(device="cuda"), device="cuda", precision=precision, epochs=3)
    assert engine.state.step == 18 and all(torch.isfinite(p).all() for p in model.parameters())
    assert next(model.parameters()).dtype == torch.float32  # autocast, not a half-precision model
    assert engine.scaler.is_enabled() == (precision == "fp16")
    if precision == "fp16":
        assert engine.scaler.get_scale() > 0
    assert engine.state.history[-1]["valid_loss"] < engine.state.history[0]["valid_loss"]


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_exact_resume_on_cuda_restores_the_cuda_rng_and_the_scaler(tmp_path, monkeypatch, precision):
    from nlpkit.artifacts import load_checkpoint

    kw = dict(device="cuda", precision=precision, epochs=3, checkpoint_every="4")
    whole, _ = run_toy(tmp_path / "whole", ToyTask(device="cuda"), **kw)
    _die_at(monkeypatch, 9)
    with pytest.raises(KeyboardInterrupt):
        run_toy(tmp_path / "job", ToyTask(device="cuda"), **kw)
    monkeypatch.undo()
    ckpt = load_checkpoint(tmp_path / "job")
    assert "cuda" in ckpt["rng"][0] and ckpt["scaler"] is not None
    resumed, _ = run_toy(tmp_path / "job", ToyTask(device="cuda"), run=RunOptions(resume=True, quiet=True), **kw)
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))


def test_nccl_with_one_process(tmp_path, monkeypatch):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "29731"}.items():
        monkeypatch.setenv(key, value)
    model, engine = run_toy(tmp_path / "nccl", ToyTask(device="cuda"), device="cuda", epochs=2, checkpoint_every="3")
    assert engine.world.distributed and isinstance(engine.net, DistributedDataParallel)
    assert engine.state.step == 12 and not dist.is_initialized()  # the job left the process group
