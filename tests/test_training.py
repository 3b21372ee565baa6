"""The training engine on a toy task: schedules, accumulation, precision, RNG, clock, resume, metrics."""

from __future__ import annotations

import json
import math
import random

import pytest
import torch
from torch import nn

from nlpkit.errors import ConfigError
from nlpkit.training import RunOptions, TrainConfig, fixed_values, flag
from nlpkit.training.engine import Engine
from nlpkit.training.job import open_job
from nlpkit.training.optim import lr_factor, make_schedule


@pytest.fixture(autouse=True, scope="module")
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


class ToyTask:
    """Regression of y = x . w on 24 fixed examples; batches of 4 in a seeded order."""

    metric, higher_is_better = "valid_loss", False

    def __init__(self, seed: int = 0, batch_size: int = 4, device: str = "cpu") -> None:
        g = torch.Generator().manual_seed(1)
        x = torch.randn(24, 3, generator=g)  # (N, 3)
        y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(24, generator=g)  # (N,)
        self.x, self.y = x.to(device), y.to(device)
        self.seed, self.batch_size = seed, batch_size

    def batches(self, epoch: int) -> list[list[int]]:
        order = list(range(24))
        random.Random(self.seed * 1000 + epoch).shuffle(order)
        return [order[i : i + self.batch_size] for i in range(0, 24, self.batch_size)]

    def step(self, model: nn.Module, idx: list[int]) -> dict:
        pred = model(self.x[idx]).squeeze(-1)  # (B,)
        return {"loss": nn.functional.mse_loss(pred.float(), self.y[idx]), "n_examples": len(idx)}

    def evaluate(self, model: nn.Module) -> dict:
        return {"valid_loss": float(nn.functional.mse_loss(model(self.x).squeeze(-1).float(), self.y))}


def toy_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.Dropout(0.2), nn.Linear(8, 1))  # dropout: the RNG matters


def run_toy(out, task=None, run=None, **cfg) -> tuple[nn.Module, Engine]:
    cfg = TrainConfig(**{"lr": 0.05, "device": "cpu", "threads": 1, "log_every": 2, **cfg})
    with open_job(out, cfg, run or RunOptions(quiet=True)) as job:
        engine = Engine(toy_model(), task or ToyTask(), job)
        engine.run()
        return engine.model, engine


def test_lr_factor_golden_values():
    assert [lr_factor(s, "linear", 2, 6) for s in range(6)] == [0.5, 1.0, 1.0, 0.75, 0.5, 0.25]
    assert lr_factor(4, "cosine", 2, 6) == pytest.approx(0.5)  # half-way through the decay
    assert lr_factor(15, "inverse_sqrt", 4, 100) == pytest.approx(0.5)  # sqrt(4 / 16)
    assert [lr_factor(s, "constant", 0, 6) for s in (0, 5)] == [1.0, 1.0]


def test_schedule_is_a_torch_lr_scheduler():
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = make_schedule(opt, TrainConfig(lr=1.0, warmup=0.25, schedule="linear"), total_steps=8)
    lrs = []
    for _ in range(8):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    assert lrs == pytest.approx([0.5, 1.0, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])


def test_config_checks_name_the_flags():
    assert flag("grad_accum") == "--grad-accum"
    assert fixed_values(TrainConfig(lr=1.0, seed=3)) == {"grad_accum": 1, "seed": 3}
    with pytest.raises(ConfigError, match="--checkpoint-every"):
        TrainConfig(lr=1.0, checkpoint_every="soon")
    with pytest.raises(ConfigError, match="--grad-accum"):
        TrainConfig(lr=1.0, grad_accum=0)
    with pytest.raises(ConfigError, match="--precision"):
        TrainConfig(lr=1.0, precision="fp8")
    assert TrainConfig(lr=1.0, max_time="1h30m").max_time == 5400.0
    with pytest.raises(ConfigError, match="contradict"):
        RunOptions(resume=True, force=True)


def test_grad_accumulation_equals_one_big_batch(tmp_path):
    """Two micro-batches of 4 accumulate the gradient of one batch of 8 (means of equal halves)."""
    small, _ = run_toy(tmp_path / "a", ToyTask(batch_size=4), optimizer="sgd", grad_accum=2, epochs=2, clip=0.0)

    class Pairs(ToyTask):
        def batches(self, epoch):
            b = ToyTask.batches(self, epoch)
            return [b[i] + b[i + 1] for i in range(0, len(b), 2)]

    big, _ = run_toy(tmp_path / "b", Pairs(batch_size=4), optimizer="sgd", epochs=2, clip=0.0)
    for a, b in zip(small.state_dict().values(), big.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)


def test_bf16_on_cpu_trains_and_fp16_needs_cuda(tmp_path):
    model, engine = run_toy(tmp_path / "bf16", precision="bf16", epochs=2)
    assert engine.state.step == 12 and all(torch.isfinite(p).all() for p in model.parameters())
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="--precision fp16 needs a CUDA device"):
            run_toy(tmp_path / "fp16", precision="fp16", device="cpu")


def test_rng_capture_and_restore_every_generator():
    import numpy as np

    from nlpkit.training import rng

    state = rng.capture(torch.device("cpu"))
    first = (random.random(), np.random.rand(), torch.rand(2))
    rng.restore(state, torch.device("cpu"))
    again = (random.random(), np.random.rand(), torch.rand(2))
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])


def _die_at(monkeypatch, step: int) -> None:
    real = Engine._step

    def dying(self, group):
        if self.state.step == step:
            raise KeyboardInterrupt
        return real(self, group)

    monkeypatch.setattr(Engine, "_step", dying)


def test_resume_is_exact_and_the_clock_counts_every_run(tmp_path, monkeypatch):
    from nlpkit.artifacts import load_checkpoint, save_checkpoint

    whole, _ = run_toy(tmp_path / "whole", epochs=3, checkpoint_every="4", eval_every="5")
    _die_at(monkeypatch, 9)
    with pytest.raises(KeyboardInterrupt):
        run_toy(tmp_path / "job", epochs=3, checkpoint_every="4", eval_every="5")
    monkeypatch.undo()
    ckpt = load_checkpoint(tmp_path / "job")
    assert ckpt["loop"]["step"] == 8 and ckpt["world_size"] == 1
    resumed, engine = run_toy(tmp_path / "job", run=RunOptions(resume=True, quiet=True), epochs=3, checkpoint_every="4", eval_every="5")
    assert engine.state.step == 18
    assert all(torch.equal(a, b) for a, b in zip(whole.state_dict().values(), resumed.state_dict().values()))
    # --max-time counts the seconds of earlier runs: a checkpoint that already used 100 s stops at once.
    ckpt["loop"]["elapsed"] = 100.0
    save_checkpoint(tmp_path / "job", ckpt)
    _, engine = run_toy(tmp_path / "job", run=RunOptions(resume=True, quiet=True), epochs=3, checkpoint_every="4",
                        eval_every="5", max_time="50s")
    assert engine.state.step == 9 and engine.state.stopped == "max-time"


def test_best_weights_early_stopping_and_metrics(tmp_path):
    class Worsening(ToyTask):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def evaluate(self, model):  # better, then worse and worse
            self.calls += 1
            return {"valid_loss": [3.0, 1.0, 2.0, 4.0, 5.0, 6.0][self.calls - 1]}

    metrics = tmp_path / "m.jsonl"
    _, engine = run_toy(tmp_path / "a", Worsening(), run=RunOptions(quiet=True, metrics=str(metrics)), epochs=6, patience=2)
    st = engine.state
    assert st.stopped == "early-stopping" and st.best == 1.0 and st.best_step == 12 and st.step == 24
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    evals = [r for r in records if r["event"] == "eval"]
    logs = [r for r in records if r["event"] == "log"]
    assert [r["epoch"] for r in evals] == [1, 2, 3, 4] and [r["valid_loss"] for r in evals] == [3.0, 1.0, 2.0, 4.0]
    assert [r["step"] for r in logs] == list(range(2, 25, 2)) and logs[0]["epoch"] == 1 and logs[-1]["epoch"] == 4
    assert all({"step", "epoch", "seconds", "loss", "lr"} <= set(r) for r in records)
    assert all(r["examples_per_s"] > 0 and math.isfinite(r["loss"]) for r in logs)


def test_plateau_schedule_decays_after_an_evaluation_without_progress(tmp_path):
    class Flat(ToyTask):
        def evaluate(self, model):
            return {"valid_loss": 1.0}

    _, engine = run_toy(tmp_path / "a", Flat(), epochs=3, schedule="plateau", lr_decay=0.5)
    assert engine.opt.param_groups[0]["lr"] == pytest.approx(0.05 * 0.25)  # epochs 2 and 3 did not improve


def test_threads_zero_means_every_core(tmp_path):
    import os

    from nlpkit.device import set_threads

    set_threads(0)
    assert torch.get_num_threads() == len(os.sched_getaffinity(0))
    set_threads(0, processes=len(os.sched_getaffinity(0)))  # one core each when every core runs a rank
    assert torch.get_num_threads() == 1
    set_threads(1)
    assert torch.get_num_threads() == 1


def test_resume_needs_the_same_world_size_and_fixed_values(tmp_path, monkeypatch):
    from nlpkit.artifacts import load_checkpoint, save_checkpoint

    _die_at(monkeypatch, 3)
    with pytest.raises(KeyboardInterrupt):
        run_toy(tmp_path / "job", epochs=2, checkpoint_every="2")
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="--seed"):
        run_toy(tmp_path / "job", run=RunOptions(resume=True), epochs=2, checkpoint_every="2", seed=1)
    ckpt = load_checkpoint(tmp_path / "job")
    save_checkpoint(tmp_path / "job", {**ckpt, "world_size": 2})
    with pytest.raises(ConfigError, match="written by 2 process"):
        run_toy(tmp_path / "job", run=RunOptions(resume=True), epochs=2, checkpoint_every="2")


def test_one_torchrun_process_trains_through_ddp_on_gloo(tmp_path, monkeypatch):
    """The path `torchrun --nproc-per-node 1` takes (the GPU test does the same with NCCL)."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    for key, value in {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1",
                       "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(29600 + __import__("os").getpid() % 300)}.items():
        monkeypatch.setenv(key, value)
    ddp, engine = run_toy(tmp_path / "ddp", epochs=2, checkpoint_every="3")
    assert engine.world.distributed and isinstance(engine.net, DistributedDataParallel)
    assert engine.state.step == 12 and not dist.is_initialized()  # the job left the process group
    for key in ("RANK", "WORLD_SIZE"):
        monkeypatch.delenv(key)
    plain, _ = run_toy(tmp_path / "plain", epochs=2, checkpoint_every="3")
    assert all(torch.equal(a, b) for a, b in zip(ddp.state_dict().values(), plain.state_dict().values()))
