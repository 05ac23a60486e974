"""Random draws for samplers that run on any device without waiting for it.

Samplers keep one CPU ``torch.Generator`` (``Sampler.generator``): it is checkpointed with the
run and gives the same batches on CPU and GPU. Its draws reach the GPU through ``upload``: a
copy from pinned memory with ``non_blocking=True``, which queues behind the step instead of
stalling the host (a plain ``.to("cuda")`` of pageable memory synchronises, and
``torch.cuda.set_sync_debug_mode("error")`` rejects it). The selections below never ask the
device for a count (``nonzero``, ``.item()``): every size is known on the host in advance.
"""

from __future__ import annotations

import torch
from torch import Tensor


def upload(t: Tensor, device: torch.device) -> Tensor:
    """``t`` (a CPU tensor) on ``device``; to CUDA through pinned memory, asynchronously."""
    device = torch.device(device)
    if device.type != "cuda":
        return t.to(device)
    return t.pin_memory().to(device, non_blocking=True)


def uniform(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> Tensor:
    """U[0, 1) of ``shape`` from the CPU ``generator``, placed on ``device``."""
    return upload(torch.rand(shape, generator=generator), device)  # host: seeded CPU stream


def normal(shape: tuple[int, ...], generator: torch.Generator, device: torch.device) -> Tensor:
    """N(0, 1) of ``shape`` from the CPU ``generator``, placed on ``device``."""
    return upload(torch.randn(shape, generator=generator), device)  # host: seeded CPU stream


def gumbel_top_k(weight: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """``k`` indices drawn without replacement with probability ∝ ``weight`` (N,): the
    Gumbel-top-k trick, exact for successive sampling without replacement."""
    u = uniform(tuple(weight.shape), generator, weight.device)
    keys = weight.clamp_min(1e-30).log() - torch.log(-torch.log(u.clamp_min(1e-20)))
    return torch.topk(keys, k, sorted=False).indices


def random_free(taken: Tensor, k: int, generator: torch.Generator) -> Tensor:
    """``k`` uniform random indices (k,) of the entries of ``taken`` (bool (N,)) that are
    False, without replacement: the k largest of N i.i.d. uniform keys with the taken ones
    pushed below every free one (the caller guarantees k ≤ the number of free entries)."""
    if k <= 0:
        return torch.empty(0, dtype=torch.long, device=taken.device)
    keys = uniform((taken.shape[0],), generator, taken.device).masked_fill(taken, -1.0)
    return torch.topk(keys, k, sorted=False).indices
