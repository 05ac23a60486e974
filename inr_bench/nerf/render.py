"""Volume rendering of a radiance field along rays (NeRF, Mildenhall et al. 2020, §4 eq. 3).

A field maps (N, 6) points + unit view directions to (N, 4) raw outputs: a density logit and
three colour logits. Density is ``trunc_exp`` of its logit and colour the sigmoid of its logits,
as in the torch-ngp network FINER and AIRe use (App. D.1). Along each ray the segment inside the
scene box [-bound, bound]^3 is split into ``samples`` equal bins with one stratified sample per
bin (jittered in training, the bin centre at evaluation); ``importance`` further samples are
drawn from the piecewise-constant distribution of the first pass's weights (NeRF §5.2) and
evaluated with gradients like the first ones (torch-ngp's ``upsample_steps``). Every sample
stands for the interval between the midpoints to its neighbours (the box's ends for the first
and last), so the intervals tile [near, far] exactly and a medium of constant density σ
filling it has opacity 1 - exp(-σ (far - near)) whatever the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


class TruncExp(torch.autograd.Function):
    """exp(x) with its input clamped to ≤ 15 forward and to [-15, 15] in backward (torch-ngp's
    trunc_exp, whose backward clamp keeps density gradients finite; the forward clamp keeps
    σ·δ finite on rays of length 0, where exp(large)·0 would be nan)."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return torch.exp(x.clamp(max=15.0))

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return grad * torch.exp(x.clamp(-15.0, 15.0))


DENSITY = {
    "exp": TruncExp.apply,  # torch-ngp
    "softplus": torch.nn.functional.softplus,
    "relu": torch.relu,  # NeRF's original
}


@dataclass
class Rendered:
    """Per-ray results: rgb (R, 3), expected depth (R,) along the ray, opacity (R,)."""

    rgb: Tensor
    depth: Tensor
    opacity: Tensor


def near_far(origins: Tensor, directions: Tensor, bound: float, min_near: float) -> tuple:
    """Entry and exit distances (R,), (R,) of rays with the box [-bound, bound]^3 (slab test);
    near is at least ``min_near``; rays that miss the box get far = near (no samples count)."""
    safe = torch.where(directions.abs() < 1e-9, torch.full_like(directions, 1e-9), directions)
    t0, t1 = (-bound - origins) / safe, (bound - origins) / safe
    near = torch.minimum(t0, t1).amax(dim=-1).clamp_min(min_near)
    far = torch.maximum(t0, t1).amin(dim=-1)
    return near, torch.maximum(far, near)


def stratified(near: Tensor, far: Tensor, count: int, jitter: bool) -> Tensor:
    """(R, count) distances, one per equal bin of [near, far]: uniform in it, or its centre."""
    offset = (
        torch.rand(near.shape[0], count, device=near.device, dtype=near.dtype)
        if jitter
        else torch.full((near.shape[0], count), 0.5, device=near.device, dtype=near.dtype)
    )
    steps = torch.arange(count, device=near.device, dtype=near.dtype)
    return near[:, None] + (far - near)[:, None] * (steps + offset) / count


def intervals(t: Tensor, near: Tensor, far: Tensor) -> Tensor:
    """(R, S) lengths each sorted sample t (R, S) stands for: between the midpoints to its
    neighbours, from near for the first and to far for the last (they sum to far - near)."""
    mid = 0.5 * (t[:, 1:] + t[:, :-1])
    edges = torch.cat([near[:, None], mid, far[:, None]], dim=1)
    return edges[:, 1:] - edges[:, :-1]


def weights_of(sigma: Tensor, delta: Tensor) -> Tensor:
    """w_i = T_i (1 - exp(-σ_i δ_i)), T_i = exp(-Σ_{j<i} σ_j δ_j) (NeRF eq. 3), shape (R, S)."""
    optical = sigma * delta
    before = torch.cumsum(optical, dim=1) - optical  # exclusive: Σ_{j<i}
    return torch.exp(-before) * -torch.expm1(-optical)


def sample_pdf(t: Tensor, w: Tensor, near: Tensor, far: Tensor, count: int, jitter: bool):
    """(R, count) distances drawn by inverse transform from the piecewise-constant density
    whose bins are the samples' intervals and whose masses are their weights w (R, S)."""
    mid = 0.5 * (t[:, 1:] + t[:, :-1])
    edges = torch.cat([near[:, None], mid, far[:, None]], dim=1)  # (R, S + 1)
    pdf = (w + 1e-5) / (w + 1e-5).sum(dim=1, keepdim=True)
    cdf = torch.cat([torch.zeros_like(pdf[:, :1]), torch.cumsum(pdf, dim=1)], dim=1)
    if jitter:
        u = torch.rand(t.shape[0], count, device=t.device, dtype=t.dtype)
    else:
        u = torch.linspace(0.0, 1.0, count + 2, device=t.device, dtype=t.dtype)[1:-1]
        u = u.expand(t.shape[0], count)
    u = u.contiguous() * cdf[:, -1:]
    above = torch.searchsorted(cdf, u, right=True).clamp(1, cdf.shape[1] - 1)
    c0, c1 = cdf.gather(1, above - 1), cdf.gather(1, above)
    e0, e1 = edges.gather(1, above - 1), edges.gather(1, above)
    share = (u - c0) / (c1 - c0).clamp_min(1e-12)
    return e0 + share * (e1 - e0)


def query(field, origins: Tensor, directions: Tensor, t: Tensor, bound: float, density: str):
    """Density (R, S) and colour (R, S, 3) of ``field`` at o + t d; positions enter the field
    scaled to [-1, 1]^3 (the box), directions as unit vectors."""
    points = (origins[:, None, :] + t[..., None] * directions[:, None, :]) / bound
    views = directions[:, None, :].expand_as(points)
    raw = field(torch.cat([points, views], dim=-1).reshape(-1, 6))  # (R*S, 4)
    raw = raw.reshape(*t.shape, raw.shape[-1])
    return DENSITY[density](raw[..., 0]), torch.sigmoid(raw[..., 1:4])


def render_rays(
    field,
    origins: Tensor,
    directions: Tensor,
    background: Tensor,
    bound: float = 1.0,
    min_near: float = 0.2,
    samples: int = 64,
    importance: int = 0,
    jitter: bool = True,
    density: str = "exp",
) -> Rendered:
    """Render R rays (origins (R, 3), unit directions (R, 3)) over ``background`` (R, 3) or (3,)."""
    near, far = near_far(origins, directions, bound, min_near)
    t = stratified(near, far, samples, jitter)
    sigma, rgb = query(field, origins, directions, t, bound, density)
    if importance > 0:
        with torch.no_grad():
            w = weights_of(sigma, intervals(t, near, far))
            extra = sample_pdf(t, w, near, far, importance, jitter)
        sigma2, rgb2 = query(field, origins, directions, extra, bound, density)
        t, order = torch.sort(torch.cat([t, extra], dim=1), dim=1)
        sigma = torch.cat([sigma, sigma2], dim=1).gather(1, order)
        rgb = torch.cat([rgb, rgb2], dim=1).gather(1, order[..., None].expand(-1, -1, 3))
    w = weights_of(sigma, intervals(t, near, far))  # (R, S)
    opacity = w.sum(dim=1)
    color = (w[..., None] * rgb).sum(dim=1) + (1.0 - opacity)[:, None] * background
    return Rendered(color, (w * t).sum(dim=1), opacity)
