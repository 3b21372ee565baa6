"""DistributedDataParallel plumbing for ``torchrun``: NCCL on GPUs, gloo on CPU.

``torchrun`` sets RANK, WORLD_SIZE and LOCAL_RANK (and MASTER_ADDR/PORT); without them the job is
a single process and nothing here touches ``torch.distributed``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from nlpkit.errors import DeviceError


@dataclass(frozen=True)
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_world(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun described; returns the world and this rank's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return World(), device
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DeviceError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible)", "start one process per GPU")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return World(rank, world_size, local_rank), device


def close_world(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], world: World, device: torch.device) -> list[float]:
    """Element-wise sum over ranks (the numbers themselves on a single process)."""
    if not world.distributed:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def any_rank(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank if it is True on any (so that all ranks stop at the same step)."""
    return bool(all_sum([float(flag)], world, device)[0]) if world.distributed else flag


def gather_objects(obj: Any, world: World) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-element list on a single process)."""
    if not world.distributed:
        return [obj]
    out: list[Any] = [None] * world.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
