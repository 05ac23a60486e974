"""Numeric precision and ``torch.compile`` of a run (``precision: fp32|tf32|bf16``, ``compile``).

The loop calls, once at start-up, ``configure(precision)`` and ``compile_model(model, compile,
signal.needs_input_grad)``; then every forward + loss of a training step runs inside
``autocast(precision, device)``. Evaluation stays in the run's float32 weights.

- ``fp32``: float32 everywhere; matmuls in full float32 (``set_float32_matmul_precision
  ("highest")``, TF32 off), so a process that ran a tf32 job before is reset.
- ``tf32``: float32 tensors, matmuls and convolutions on TensorFloat-32 tensor cores
  (10-bit mantissa inputs, float32 accumulation). CUDA Ampere or newer only: on CPU it changes
  nothing (PyTorch's CPU matmuls ignore the setting).
- ``bf16``: ``torch.autocast(dtype=bfloat16)`` on CUDA and CPU: matmuls in bfloat16 (8-bit
  mantissa), weights, optimizer state and gradients kept in float32. No loss scaling is needed
  (bfloat16 has float32's exponent range).

``compile_model`` compiles the backbone in place (``nn.Module.compile``): the module, its
``state_dict`` keys, ``spec()`` and surgery stay as they are; a change of shapes (a chunk of
another size, densify / prune) recompiles once, after which Dynamo treats the size as dynamic.
Parameter shapes are allowed to become dynamic too: with Dynamo's default (static parameter
shapes) every surgery event recompiled the train and eval graphs, and an AIRe-like sequence of
densify / prune events hit the recompile limit (8) after 4 events, from which point the network
silently ran eagerly; now the graphs stay at 5 however many events (tests/test_surgery.py).
Under compile the sine layers use plain ``torch.sin`` (``backbones.base.sine``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from inr_bench.errors import UserError

PRECISIONS = ("fp32", "tf32", "bf16")


def check(precision: str) -> None:
    """A UserError naming the key unless ``precision`` is one of ``PRECISIONS``."""
    if precision not in PRECISIONS:
        raise UserError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")


def configure(precision: str) -> None:
    """Set the process-wide float32 matmul mode for ``precision`` (TF32 on for tf32 only)."""
    check(precision)
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")


@contextlib.contextmanager
def autocast(precision: str, device: torch.device | str) -> Iterator[None]:
    """The context of a training step's forward and loss: bfloat16 autocast for bf16 on
    ``device`` (CUDA or CPU), nothing for fp32 / tf32."""
    check(precision)
    if precision != "bf16":
        yield
        return
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16):
        yield


def compile_model(
    model: torch.nn.Module, enabled: bool, needs_input_grad: bool = False, **options
) -> torch.nn.Module:
    """``model`` compiled in place with ``torch.compile`` (inductor; ``options`` go to
    ``nn.Module.compile``) when ``enabled``.

    Signals whose loss differentiates the network with respect to its inputs and then
    backpropagates through that (SDF eikonal and normal terms) need double backward, which
    compiled graphs do not support (AOTAutograd): they are refused at start-up."""
    if not enabled:
        return model
    if needs_input_grad:
        raise UserError(
            "compile=true: this signal's loss differentiates the network twice (SDF eikonal / "
            "normal terms), which torch.compile does not support; use compile=false"
        )
    torch._dynamo.config.force_parameter_static_shapes = False  # surgery: see module doc
    model.compile(**options)
    return model
