"""Where and how networks run: the device, mixed precision, data-loader workers, DDP ranks.

    device()          the GPU when there is one (Colab, Kaggle), else the CPU; under DDP, this
                      process's GPU
    Precision         autocast and, for float16, a GradScaler, from one setting:
                      "auto" (bf16 on a GPU that has it, else fp16; off on the CPU),
                      "bf16", "fp16" or "off"
    loader_workers    the data-loader worker count for a setting (-1: from the CPU count)
    Distributed       this process's rank in a torchrun launch (helpers.training.launch), if any;
                      its ranks wait DDP_TIMEOUT (2 h, or $DDP_TIMEOUT_MIN) for each other
On a GPU, networks train in channels_last with cudnn.benchmark on; only the main rank
writes checkpoints, logs and validation.
"""
from __future__ import annotations

import contextlib
import datetime
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from helpers.core.config import AMP


# How long DDP ranks wait for each other in one collective (a barrier, a gradient all-reduce).
# The main rank validates and writes the epoch checkpoint alone while the others wait in
# barrier(): a full validation (~5,900 images at 512 px) plus a ~425 MB checkpoint synced to
# Google Drive can pass NCCL's default of 10 minutes and abort a healthy job. Long enough
# for that, short enough that a truly hung rank still ends the job the same day.
DDP_TIMEOUT = datetime.timedelta(hours=2)
DDP_TIMEOUT_ENV = "DDP_TIMEOUT_MIN"  # minutes; overrides DDP_TIMEOUT (e.g. for a slower Drive)


def auto_amp(dev: torch.device) -> str:
    """What AMP = "auto" means on `dev`: bf16 on a GPU with native bfloat16 (compute capability
    8.0 and up: A100, L4, H100), fp16 with a GradScaler on older GPUs (T4, V100, P100), off on
    the CPU. The capability is asked for, not `torch.cuda.is_bf16_supported()`, which also says
    yes for a T4, where bfloat16 is only emulated and slower than float32."""
    if dev.type != "cuda":
        return "off"
    return "bf16" if torch.cuda.get_device_capability(dev) >= (8, 0) else "fp16"


@dataclass(frozen=True)
class Distributed:
    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def distributed() -> Distributed | None:
    """This process's place in a torchrun launch (WORLD_SIZE > 1 in its environment), else None."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return None
    return Distributed(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))


def ddp_timeout() -> datetime.timedelta:
    """DDP_TIMEOUT, or $DDP_TIMEOUT_MIN minutes when that is set."""
    minutes = os.environ.get(DDP_TIMEOUT_ENV, "").strip()
    if not minutes:
        return DDP_TIMEOUT
    try:
        value = float(minutes)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise ValueError(f"{DDP_TIMEOUT_ENV} must be a positive number of minutes, got {minutes!r}")
    return datetime.timedelta(minutes=value)


def init_distributed(info: Distributed | None) -> None:
    """Join the process group (NCCL on GPUs, gloo on the CPU), once, with ddp_timeout() for
    every collective (the default would stop a rank that waits out a long validation)."""
    if info is None or dist.is_initialized():
        return
    if torch.cuda.is_available():
        torch.cuda.set_device(info.local_rank)
    dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo", timeout=ddp_timeout())


def barrier() -> None:
    if dist.is_initialized():
        dist.barrier()


def device() -> torch.device:
    """Where networks train and (with the torch backend) run: this process's GPU, else the CPU."""
    if not torch.cuda.is_available():
        return torch.device("cpu")
    info = distributed()
    return torch.device("cuda", info.local_rank if info else torch.cuda.current_device())


def loader_workers(setting: int) -> int:
    """Data-loader workers: the setting, or for -1 one per CPU core but one (at most 8)."""
    if setting >= 0:
        return setting
    per_process = (os.cpu_count() or 1) // max(1, torch.cuda.device_count() if distributed() else 1)
    return max(0, min(8, per_process - 1))


def prepare_module(module: torch.nn.Module, dev: torch.device) -> torch.nn.Module:
    """On the device; on a GPU in channels_last (faster convolutions with mixed precision)."""
    module.to(dev)
    if dev.type == "cuda":
        module.to(memory_format=torch.channels_last)
    return module


def prepare_input(x: torch.Tensor, dev: torch.device) -> torch.Tensor:
    x = x.to(dev, non_blocking=True)
    return x.contiguous(memory_format=torch.channels_last) if dev.type == "cuda" and x.ndim == 4 else x


class Precision:
    """Mixed precision for one training run: `with p.autocast():` around the forward passes,
    `p.backward(loss, optimizer)` for each update, `p.update()` once per step."""

    def __init__(self, setting: str, dev: torch.device):
        if setting not in AMP:
            raise ValueError(f"amp must be one of {AMP}, got {setting!r}")
        if setting == "auto":
            setting = auto_amp(dev)
        self.setting, self.device_type = setting, dev.type
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(setting)
        self.scaler = torch.amp.GradScaler(dev.type) if setting == "fp16" else None
        if dev.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input sizes: let cuDNN pick the fastest kernels

    def autocast(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        if self.scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(optimizer)

    def update(self) -> None:
        if self.scaler is not None:
            self.scaler.update()

    def describe(self) -> str:
        return {"off": "float32", "bf16": "bfloat16 autocast", "fp16": "float16 autocast with a GradScaler"}[
            self.setting] + f" on {self.device_type}"
