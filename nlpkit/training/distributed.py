"""DistributedDataParallel plumbing for ``torchrun``: NCCL on GPUs, gloo on CPU.

``torchrun`` sets RANK, WORLD_SIZE, LOCAL_RANK and LOCAL_WORLD_SIZE (and MASTER_ADDR/PORT);
without them the job is a single process and nothing here touches ``torch.distributed``. Under
torchrun even one process joins a process group and trains through DDP, so
``torchrun --nproc-per-node 1`` exercises the same path as eight GPUs.
Every collective here is called by every rank at the same point of the loop.
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
    local_world_size: int = 1
    distributed: bool = False  # started by torchrun: a process group and DDP, whatever the size

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def world_from_env() -> World:
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        return World()
    world_size = int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    return World(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")), local, True)


def init_world(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group torchrun described; returns the world and this rank's device."""
    world = world_from_env()
    if not world.distributed:
        return world, device
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise DeviceError(f"local rank {world.local_rank} has no GPU ({torch.cuda.device_count()} visible)", "start one process per GPU")
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return world, device


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


def any_rank(flags: list[bool], world: World, device: torch.device) -> list[bool]:
    """Each flag True on every rank if it is True on any (so that all ranks act at the same step)."""
    if not world.distributed:
        return flags
    return [s > 0 for s in all_sum([float(f) for f in flags], world, device)]


def gather_objects(obj: Any, world: World) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-element list on a single process)."""
    if not world.distributed:
        return [obj]
    out: list[Any] = [None] * world.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, world: World) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not world.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
