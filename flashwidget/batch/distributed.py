"""Several processes on one job, as ``torchrun`` starts them: which process this is, the
device it computes on, and waiting for the others.

No new machinery: torchrun sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` and the rendezvous
address; the process group is torch.distributed's, on NCCL when there are GPUs and gloo
otherwise. It is used only to wait (a barrier before the index is merged): each process writes
its own part of the output folder, so no data travels between them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Group:
    """This process's ``rank`` among ``world``, its ``local_rank`` on its machine, and whether
    the job started the process group (and so ends it) or found it started by the caller."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owned: bool = False

    def device(self) -> torch.device | None:
        """The GPU of this process's local rank when there are several processes and GPUs;
        ``None`` (the model's own device) otherwise."""
        if self.world > 1 and torch.cuda.is_available():
            return torch.device("cuda", self.local_rank % torch.cuda.device_count())
        return None

    def wait(self) -> None:
        """Wait until every process gets here."""
        if self.world > 1:
            dist.barrier()

    def leave(self) -> None:
        if self.owned:
            dist.destroy_process_group()


def join() -> Group:
    """The process group of this job: the caller's when one is started, torchrun's from its
    environment variables, or a group of one."""
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if dist.is_available() and dist.is_initialized():
        return Group(dist.get_rank(), dist.get_world_size(), local_rank)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Group()
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        dist.init_process_group("nccl")
    else:
        dist.init_process_group("gloo")
    return Group(dist.get_rank(), dist.get_world_size(), local_rank, owned=True)
