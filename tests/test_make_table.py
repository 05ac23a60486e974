"""scripts/make_table.py rebuilds a table from run folders alone."""

from __future__ import annotations

import sys

from conftest import REPO, TINY, compose_cfg
from omegaconf import open_dict

from inr_bench.train import train

sys.path.insert(0, str(REPO / "scripts"))
import make_table  # noqa: E402


def run(folder, name: str, extra: list[str]) -> dict:
    cfg = compose_cfg([*TINY, "steps=4", "eval_every=4", *extra], folder)
    with open_dict(cfg):
        cfg.name = name
    return train(cfg)


def test_rows_by_name_with_mean_and_the_papers_numbers(tmp_path, capsys):
    a = run(tmp_path / "large/0", "SIREN Large", [])
    run(tmp_path / "large/1", "SIREN Large", ["seed=1"])
    run(tmp_path / "small/0", "SIREN Small", ["backbone.hidden_features=16"])
    text = make_table.main(
        [str(tmp_path), "--paper", "aire_table3", "--latex", str(tmp_path / "t.tex")]
    )
    lines = text.splitlines()
    assert lines[0].startswith("| row | runs | eval/psnr")
    large = next(line for line in lines if line.startswith("| SIREN Large | 2 |"))
    assert "39.59 ± 3.30" in large and "0.00 %" in large
    small = next(line for line in lines if line.startswith("| SIREN Small | 1 |"))
    assert f"{a['params']:,}" not in small
    assert r"\pm" in (tmp_path / "t.tex").read_text()
    assert "published rows without runs: FINER AIRe, FINER Large" in capsys.readouterr().out


def test_unnamed_runs_are_grouped_by_what_differs(tmp_path):
    run(tmp_path / "a", None, ["optim.optimizer.lr=1e-3"])
    run(tmp_path / "b", None, ["optim.optimizer.lr=1e-4"])
    text = make_table.main([str(tmp_path)])
    assert "optim.optimizer.lr=0.001" in text and "optim.optimizer.lr=0.0001" in text


def test_keys_only_in_the_series_come_from_its_last_record(tmp_path):
    """A schedule's event (here the logged train PSNR) is not in metrics.json; the table takes
    its last value from metrics.jsonl."""
    run(tmp_path / "a", "A", ["log_every=2"])
    last = make_table.last_logged(tmp_path / "a" / "metrics.jsonl")
    assert "train/psnr" in last and last["step"] == 4
    text = make_table.main([str(tmp_path), "--metric", "train/psnr"])
    assert f"{last['train/psnr']:.2f}" in text


def test_run_rows_batches_what_it_can_and_tables_read_the_members(tmp_path):
    """--batched: a row of supported parts is one batched run whose members the table counts
    as runs of their own (same numbers as single runs); a row that many networks cannot train
    together (schedule=rigl) falls back to one run per image."""
    refs = ["skimage:astronaut", "skimage:coffee"]
    base = [*TINY, "steps=4", "eval_every=4", "signal.resize=16", "signal.crop=null"]
    rows = {"plain": [], "rigl": ["schedule=rigl", "schedule.delta=2"]}
    make_table.run_rows(base, rows, ["plain", "rigl"], refs, tmp_path, batched=True)
    assert (tmp_path / "plain/batched/metrics.json").is_file()
    assert sorted(p.name for p in (tmp_path / "rigl").iterdir()) == ["astronaut", "coffee"]
    runs = make_table.load_runs(tmp_path)
    batched = [r for r in runs if r["cfg"]["name"] == "plain"]
    assert sorted(r["cfg"]["signal"]["image"] for r in batched) == refs
    single = train(compose_cfg([*base, "signal.image=skimage:coffee"], tmp_path / "single"))
    (coffee,) = [r for r in batched if r["cfg"]["signal"]["image"] == refs[1]]
    assert abs(coffee["metrics"]["eval/psnr"] - single["eval/psnr"]) < 1e-4
