"""Devices and seeds, resolved in one place. torch is imported only when called."""

from __future__ import annotations

import os
import random
import re
from typing import TYPE_CHECKING

from nlpkit.errors import DeviceError

if TYPE_CHECKING:
    import torch

_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device must exist."""
    import torch

    spec = spec.strip().lower()
    if not _DEVICE.match(spec):
        raise DeviceError(f"unknown device {spec!r}", "use auto, cpu, cuda, cuda:N or mps")
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {spec} requested but CUDA is not available", "use --device cpu or auto")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {spec} does not exist ({torch.cuda.device_count()} GPU(s))")
    if spec == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DeviceError("device mps requested but MPS is not available", "use --device cpu or auto")
    return torch.device(spec)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and (if already imported or importable) torch."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import torch

    torch.manual_seed(seed)


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_threads(threads: int | None, processes: int = 1) -> None:
    """torch's intra-op threads (``--threads``): ``None`` keeps torch's default; 0 means every core
    this process may use, shared among ``processes`` processes of one job on this machine."""
    if threads is None:
        return
    import torch

    if threads == 0:
        threads = max(1, usable_cores() // processes)
    torch.set_num_threads(threads)
