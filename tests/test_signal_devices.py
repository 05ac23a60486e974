"""Every tensor a signal makes after construction takes its device and dtype from the signal's own
tensors: batches, losses, evaluation grids and reconstructions follow ``Signal.to``.

On CPU the device cannot tell a forgotten ``device=`` apart, so the CPU test moves each signal to
float64: a tensor made with torch's defaults is float32 there, and a recorder of tensor factories
(``torch.rand``, ``linspace``, ``new_zeros``, ...) called from signal code names it. With CUDA the
same run happens on the GPU (``gpu`` marker)."""

from __future__ import annotations

import linecache
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO, TINY, compose_cfg, options
from hydra.utils import instantiate
from torch.overrides import TorchFunctionMode

SIGNAL_CODE = (str(REPO / "inr_bench" / "signals"), str(REPO / "inr_bench" / "mesh.py"))
TORCH_CODE = str(Path(torch.__file__).parent)
FACTORIES = {
    "tensor", "as_tensor", "arange", "zeros", "ones", "empty", "full", "eye", "linspace",
    "logspace", "rand", "randn", "randint", "randperm", "new_zeros", "new_ones", "new_full",
    "new_empty", "new_tensor",
}  # fmt: skip


class Creations(TorchFunctionMode):
    """Records ``(file:line call, tensor)`` for each factory call made by code in ``paths``."""

    def __init__(self, paths: tuple[str, ...] = SIGNAL_CODE) -> None:
        super().__init__()
        self.paths, self.made = paths, []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        name = getattr(func, "__name__", "")
        if name in FACTORIES and isinstance(out, torch.Tensor):
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_filename.startswith(TORCH_CODE):
                frame = frame.f_back
            where = frame.f_code.co_filename if frame is not None else ""
            if where.startswith(self.paths):
                self.made.append((f"{where}:{frame.f_lineno} {name}", out))
        return out


def host_marked(where: str) -> bool:
    """Whether the call's line or the one above says ``# host:`` (drawn on CPU on purpose)."""
    path, line = where.rsplit(" ", 1)[0].rsplit(":", 1)
    return any("# host:" in linecache.getline(path, int(line) - k) for k in (0, 1))


def exercise(option: str, device: str, dtype: torch.dtype, folder: Path) -> list:
    """Build signal ``option`` at test size, move it and a tiny SIREN to ``device`` / ``dtype``,
    and run what the loop runs on it; returns the factory calls that signal code made."""
    cfg = compose_cfg([*TINY, f"signal={option}"])
    torch.manual_seed(0)
    signal = instantiate(cfg.signal).to(device, dtype)
    model = instantiate(cfg.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    model = model.to(device, dtype)
    index = torch.arange(0, signal.num_points, 3, device=device)
    with Creations() as record:
        weight = torch.ones(len(index), device=device, dtype=dtype)
        for batch in (signal.batch(), signal.batch(index, weight)):
            for tensor in (batch.coords, batch.values, batch.weight):
                assert tensor is None or (tensor.device.type, tensor.dtype) == (device, dtype)
            loss = signal.loss(model, batch)
            assert (loss.device.type, loss.dtype, loss.shape) == (device, dtype, (len(batch),))
            loss.mean().backward()
        signal.evaluate(model, {}, chunk=512)
        signal.save_artifacts(model, folder, chunk=512)
    return record.made


@pytest.mark.parametrize("option", options("signal"))
def test_tensors_a_signal_makes_follow_its_dtype(option, tmp_path):
    made = exercise(option, "cpu", torch.float64, tmp_path)
    wrong = [
        f"{where} -> {tensor.dtype}"
        for where, tensor in made
        if tensor.is_floating_point() and tensor.dtype != torch.float64
    ]
    assert not wrong, f"signal={option} made tensors outside the signal's dtype: {wrong}"


def test_the_recorder_sees_calls_from_the_listed_code_only():
    with Creations(paths=(__file__,)) as record:
        torch.zeros(2)
        torch.linspace(0, 1, 3).new_ones(4)
        torch.stack([torch.ones(1, dtype=torch.float64)])  # stack makes no tensor from nothing
    assert [where.rsplit(" ", 1)[1] for where, _ in record.made] == [
        "zeros", "linspace", "new_ones", "ones",
    ]  # fmt: skip
    assert record.made[-1][1].dtype == torch.float64


def test_sdf_batches_make_their_points_in_the_signal_dtype_and_mark_the_host_draw():
    """The one signal that makes tensors every step: fresh points and zeros in its dtype; the
    draws from its seeded CPU generator are the host tensors, marked so."""
    signal = instantiate(compose_cfg([*TINY, "signal=sdf"]).signal).to("cpu", torch.float64)
    with Creations() as record:
        signal.batch()
    made = [(where.rsplit(" ", 1)[1], tensor.dtype) for where, tensor in record.made]
    assert made == [("randint", torch.int64), ("rand", torch.float64), ("new_zeros", torch.float64)]
    assert [host_marked(where) for where, _ in record.made] == [True, True, False]


@pytest.mark.gpu
@pytest.mark.parametrize("option", options("signal"))
def test_a_signal_on_cuda_makes_its_tensors_there(option, tmp_path):
    made = exercise(option, "cuda", torch.float32, tmp_path)
    off = [
        f"{where} -> {tensor.device}"
        for where, tensor in made
        if tensor.device.type != "cuda" and not host_marked(where)
    ]
    assert not off, f"signal={option} made tensors off the GPU: {off}"
