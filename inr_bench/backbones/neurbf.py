"""NeuRBF (Chen et al., ICCV 2023): adaptive radial basis functions with sinusoidal composition,
a small hash grid, and an MLP decoder, as its released image configuration builds them.

For a point x (N, d) in [−1, 1]^d:

- RBFs (NeuRBF eq. 2-3): K = k^d kernels with centres c_j on a regular grid and anisotropic
  inverse-quadratic shape, φ_j(x) = 1 / (1 + (x − c_j)ᵀ A_j (x − c_j)), A_j symmetric positive,
  initialised to I / (h/2)² (h the grid spacing). Each point uses the 2^d kernels at the corners
  of its grid cell (the released code's regular-grid neighbours), normalised by their detached
  sum (``rbf_lc0_normalize``).
- Sinusoidal composition (eq. 5): each kernel carries a feature w_j (F); the point's feature is
  Σ_j w_j ⊙ sin(φ̃_j · f), f = F frequencies log-spaced in [2⁻³, 2¹²].
- Grid part: a 2-level hash grid (2 features per level) concatenated, plus a learned bias b.
- Decoder: Linear -> h + sin(h ⊙ f') (f' log-spaced in [10, 100], "frequency embedding" of the
  first hidden layer) -> ReLU layers -> linear output.

Released image config (configs/img.py): F = 32, decoder 3 layers of 64, hash grid 2 levels x 2,
features and biases U(±1e-4), Adam (0.9, 0.99) lr 1e-2 for the decoder and 5e-3 for the rest
with a cosine decay to 1/100 over 35 000 steps, 2^18 random points per step. Centres there are
placed by a gradient-weighted k-means on the target image and then frozen, with each point using
its 4 nearest kernels: the backbone does not see the target, so centres stay on the regular grid
(the code's data-free option). ``train_kernels`` makes centres and shapes trainable (the paper's
adaptive kernels; the neighbour lists stay those of the initial grid).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from inr_bench.backbones.base import Backbone, gather_rows
from inr_bench.backbones.hashgrid import HashGrid
from inr_bench.errors import UserError


class NeuRBF(Backbone):
    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        kernels_per_axis: int = 52,
        rbf_features: int = 32,
        rbf_freq: tuple[float, float] = (2**-3, 2**12),
        hidden_features: int = 64,
        hidden_layers: int = 2,
        hidden_freq: tuple[float, float] = (10.0, 100.0),
        grid_levels: int = 2,
        grid_features: int = 2,
        grid_log2_size: int = 14,
        grid_min_res: int = 16,
        grid_max_res: int = 256,
        feature_init: float = 1e-4,
        train_kernels: bool = False,
        decoder_lr: float | None = 1e-2,
        field_lr: float | None = 5e-3,
    ) -> None:
        super().__init__()
        if kernels_per_axis < 2 or hidden_layers < 1:
            raise UserError(
                f"backbone.kernels_per_axis must be >= 2 and hidden_layers >= 1, got "
                f"{kernels_per_axis} and {hidden_layers}"
            )
        self.in_dim, self.out_dim, self.k = in_dim, out_dim, int(kernels_per_axis)
        self.rbf_features, self.hidden_features = int(rbf_features), int(hidden_features)
        self.rbf_freq, self.hidden_freq = tuple(rbf_freq), tuple(hidden_freq)
        self.grid_cfg = {
            "levels": grid_levels,
            "features": grid_features,
            "log2_size": grid_log2_size,
            "min_res": grid_min_res,
            "max_res": grid_max_res,
        }
        self.feature_init, self.train_kernels = feature_init, train_kernels
        self.decoder_lr, self.field_lr = decoder_lr, field_lr
        self._kernels(in_dim, train_kernels)
        self.features = nn.Parameter(torch.empty(self.k**in_dim, rbf_features))
        self.hash = HashGrid(in_dim, **self.grid_cfg)
        width = rbf_features + self.hash.out_dim
        self.bias = nn.Parameter(torch.empty(width))
        for t in (self.features, self.hash.table, self.bias):
            nn.init.uniform_(t, -feature_init, feature_init)
        self.register_buffer("f_rbf", log_spaced(*self.rbf_freq, rbf_features), persistent=False)
        self.register_buffer("f_hidden", log_spaced(*self.hidden_freq, hidden_features), False)
        dims = [width] + [hidden_features] * hidden_layers
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True)
        )
        self.last = nn.Linear(hidden_features, out_dim)

    def _kernels(self, d: int, trainable: bool) -> None:
        """Centres (K, d) on the k^d grid (axis 0 slowest) and the d(d+1)/2 entries of each
        shape matrix A (lower triangle, row-major)."""
        axis = torch.linspace(-1, 1, self.k)  # host: at construction, moved by .to()
        centres = torch.cartesian_prod(*[axis] * d).reshape(-1, d)
        rows, cols = torch.tril_indices(d, d)
        spacing = 2 / (self.k - 1)
        shapes = (rows == cols).float().repeat(len(centres), 1) / (spacing / 2) ** 2
        # A[i, j] = shapes[entry[i, j]], symmetric
        entry = torch.zeros(d, d, dtype=torch.long)  # host: at construction, moved by .to()
        entry[rows, cols] = entry[cols, rows] = torch.arange(len(rows))  # host: as above
        self.register_buffer("entry", entry.reshape(-1), persistent=False)
        if trainable:
            self.centres, self.shapes = nn.Parameter(centres), nn.Parameter(shapes)
        else:
            self.register_buffer("centres", centres)
            self.register_buffer("shapes", shapes)

    def spec_kwargs(self) -> dict[str, Any]:
        return {
            "in_dim": self.in_dim,
            "out_dim": self.out_dim,
            "kernels_per_axis": self.k,
            "rbf_features": self.rbf_features,
            "rbf_freq": list(self.rbf_freq),
            "hidden_features": self.hidden_features,
            "hidden_layers": len(self.layers),
            "hidden_freq": list(self.hidden_freq),
            **{f"grid_{k}": v for k, v in self.grid_cfg.items()},
            "feature_init": self.feature_init,
            "train_kernels": self.train_kernels,
            "decoder_lr": self.decoder_lr,
            "field_lr": self.field_lr,
        }

    def param_groups(self) -> list[dict[str, Any]]:
        """The decoder at ``decoder_lr``, kernels, features, grid and bias at ``field_lr``."""
        decoder = [*self.layers.parameters(), *self.last.parameters()]
        ids = {id(p) for p in decoder}
        field = [p for p in self.parameters() if id(p) not in ids]
        groups = []
        for params, lr in ((decoder, self.decoder_lr), (field, self.field_lr)):
            groups.append({"params": params} | ({"lr": lr} if lr is not None else {}))
        return groups

    def neighbours(self, x: Tensor) -> Tensor:
        """(N, 2^d) indices of the kernels at the corners of each point's grid cell."""
        d = x.shape[1]
        cell = ((x + 1) / 2 * (self.k - 1)).floor().long().clamp(0, self.k - 2)  # (N, d)
        corners = torch.cartesian_prod(*[torch.arange(2, device=x.device)] * d).reshape(-1, d)
        stride = self.k ** torch.arange(d - 1, -1, -1, device=x.device)  # axis 0 slowest
        return ((cell[:, None, :] + corners) * stride).sum(-1)

    def rbf_field(self, x: Tensor) -> Tensor:
        """(N, F): Σ_j w_j ⊙ sin(φ̃_j(x) f) over the point's 2^d kernels (NeuRBF eq. 2-5)."""
        idx = self.neighbours(x)  # (N, M)
        d = x.shape[1]
        shape = gather_rows(self.shapes, idx)[..., self.entry].unflatten(-1, (d, d))  # (N, M, d, d)
        offset = x[:, None, :] - gather_rows(self.centres, idx)  # (N, M, d)
        quad = torch.einsum("nmi,nmij,nmj->nm", offset, shape, offset)
        phi = 1 / (1 + quad)
        phi = phi / (phi.detach().sum(-1, keepdim=True) + 1e-8)  # rbf_lc0_normalize
        return (gather_rows(self.features, idx) * torch.sin(phi[..., None] * self.f_rbf)).sum(1)

    def forward(self, x: Tensor) -> Tensor:
        h = torch.cat([self.hash(x), self.rbf_field(x)], dim=-1) + self.bias
        for i, layer in enumerate(self.layers):
            h = layer(h)
            h = h + torch.sin(h * self.f_hidden) if i == 0 else torch.relu(h)
        return self.last(h)


def log_spaced(low: float, high: float, n: int) -> Tensor:
    """n frequencies 2^linspace(log2 low, log2 high) (the released code's frequency banks)."""
    return torch.exp2(torch.linspace(math.log2(low), math.log2(high), n))  # host: buffers
