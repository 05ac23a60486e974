"""Loggers: standard JSON in the run folder."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from inr_bench.loggers import JsonLogger, write_json


def strict_loads(text: str):
    """json.loads that refuses NaN / Infinity, as every standard JSON reader does."""

    def refuse(constant: str):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def test_write_json_writes_null_for_non_finite_numbers_at_any_depth(tmp_path):
    value = {
        "psnr": float("nan"),
        "inf": float("inf"),
        "numpy": np.float32("nan"),
        "torch": torch.tensor(float("-inf")),
        "nested": {"list": [1.5, np.float64("inf"), (np.int64(3), torch.tensor(2.0))]},
        "array": np.array([0.5, np.nan]),
        "tensor": torch.tensor([[1.0, float("nan")]]),
        "flag": np.bool_(True),
        "path": tmp_path / "x.png",
    }
    write_json(tmp_path / "m.json", value)
    assert strict_loads((tmp_path / "m.json").read_text()) == {
        "psnr": None,
        "inf": None,
        "numpy": None,
        "torch": None,
        "nested": {"list": [1.5, None, [3, 2.0]]},
        "array": [0.5, None],
        "tensor": [[1.0, None]],
        "flag": True,
        "path": str(tmp_path / "x.png"),
    }
    assert not (tmp_path / "m.json.tmp").exists()


def test_metrics_json_of_a_diverged_run_is_standard_json(tmp_path):
    logger = JsonLogger(tmp_path)
    logger.log_metrics({"train/loss": math.nan}, step=1)
    logger.write_summary({"eval/psnr": torch.tensor(math.nan), "thresholds": {"30": None}})
    summary = strict_loads((tmp_path / "metrics.json").read_text())
    assert summary["eval/psnr"] is None and summary["thresholds"] == {"30": None}
    assert [strict_loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]


def test_write_json_refuses_what_json_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="object"):
        write_json(tmp_path / "m.json", {"x": object()})
