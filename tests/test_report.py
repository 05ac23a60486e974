"""python -m inr_bench.report: rows, run folders grouped by row, verdicts, problems reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import CONF, REPO, TINY
from omegaconf import OmegaConf

from inr_bench.build import compose_config
from inr_bench.errors import UserError
from inr_bench.report import rows as index
from inr_bench.report.__main__ import main
from inr_bench.report.collect import collect
from inr_bench.report.launch import commands
from inr_bench.report.match import group
from inr_bench.report.paper import PAPER, published
from inr_bench.report.rows import ROWS, Row, Tolerance

sys.path.insert(0, str(REPO / "scripts"))

WIDE = {b: Tolerance(1.0, False, "test") for b in index.BUDGETS}
BASE = ("logger=none", "steps=7")


def row(ident: str, width: int, metric: str = "eval/psnr") -> Row:
    """A row on conf/train.yaml (no experiment) at SIREN init.'s Kodak number, 24.58 dB ± 1."""
    return Row(ident, "WS", "Table 1", "SIREN init.", metric, None,
               (*BASE, f"backbone.hidden_features={width}"), ("ws_table1", "SIREN init.", 0, 0),
               ("skimage:*",), {"cpu": ("skimage:astronaut", "skimage:coffee")}, WIDE)  # fmt: skip


def run_folder(folder: Path, overrides: list[str], metrics: dict, item: str) -> Path:
    """A finished run as the loop leaves it: the resolved config and metrics.json."""
    folder.mkdir(parents=True)
    cfg = compose_config([*overrides, f"signal.image={item}"])
    (folder / "config.yaml").write_text(OmegaConf.to_yaml(cfg, resolve=True))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_synthetic_runs_give_the_right_deltas_verdicts_and_problems(tmp_path):
    rows = [row("near", 16), row("far", 24), row("never", 32), row("ssim", 16, "eval/ssim")]
    near = [*BASE, "backbone.hidden_features=16"]
    run_folder(tmp_path / "a", near, {"eval/psnr": 24.0, "eval/ssim": 0.9}, "skimage:astronaut")
    run_folder(tmp_path / "b", near, {"eval/psnr": 25.0}, "skimage:coffee")  # no eval/ssim
    far = [*BASE, "backbone.hidden_features=24"]
    batched = run_folder(tmp_path / "c", far, {"members": [
        {"index": 0, "seed": 0, "image": "skimage:astronaut", "eval/psnr": 30.0},
        {"index": 1, "seed": 1, "image": "skimage:coffee", "eval/psnr": 32.0}]}, "x")  # fmt: skip
    run_folder(tmp_path / "other", [*BASE, "backbone.hidden_features=99"], {"eval/psnr": 1}, "x")
    torn = run_folder(tmp_path / "torn", near, {}, "skimage:astronaut")
    (torn / "metrics.json").write_text('{"eval/psnr": 24.')
    (tmp_path / "stopped").mkdir()
    (tmp_path / "stopped" / "checkpoint.pt").write_bytes(b"")
    (tmp_path / "failed").mkdir()
    (tmp_path / "failed" / "error.txt").write_text("UserError: no such image\n\ntrace")

    twice = ["--from", str(tmp_path), "--from", str(tmp_path / "a")]  # run a counts once
    results = main([*twice, "--budget", "cpu", "--out", str(tmp_path / "r")], rows)
    by = {r.row.id: r for r in results}
    assert by["near"].values == [24.0, 25.0] and by["near"].verdict == "within"
    assert by["near"].delta == pytest.approx(24.5 - 24.58)
    assert by["far"].values == [30.0, 32.0] and by["far"].verdict == "outside"
    assert {r.folder for r in by["far"].runs} == {batched} and by["far"].std == pytest.approx(
        1.414, 1e-3
    )
    assert by["never"].verdict == "not run" and by["never"].missing == [
        "skimage:astronaut",
        "skimage:coffee",
    ]
    assert by["ssim"].values == [0.9] and "no 'eval/ssim'" in by["ssim"].problems[0].message
    text = (tmp_path / "r" / "README.md").read_text()
    assert (
        "| near | WS | Table 1 | SIREN init. | eval/psnr | 24.50 ± 0.71 | 2 | 24.58 | −0.08 |"
        in text
    )
    assert "| far |" in text and "| outside | cpu |" in text and "| not run | cpu |" in text
    assert "## Runs that match no row (1)" in text and "other" in text
    assert "torn metrics.json" in text and "failed run: UserError: no such image" in text
    assert "stopped): unfinished (checkpoint.pt, no metrics.json)" in text
    html = (tmp_path / "r" / "report.html").read_text()
    assert 'class="outside"' in html and "torn metrics.json" in html and "<script" not in html


def test_run_builds_one_multirun_per_config_over_the_missing_items(tmp_path):
    rows = [row("a", 16), row("a-again", 16), row("b", 24)]
    run_folder(
        tmp_path / "done",
        [*BASE, "backbone.hidden_features=16"],
        {"eval/psnr": 24},
        "skimage:coffee",
    )
    runs, _ = collect([tmp_path])
    results, _ = group(rows, runs, ["cpu"])
    todo = commands(results, ["a*"], "cpu", tmp_path / "runs", ["hydra/launcher=parallel"])
    assert len(todo) == 1  # a and a-again share their config: trained once
    (command,) = todo
    assert command[1:4] == ["-m", "inr_bench.train", "-m"]
    assert "signal.image=skimage:astronaut" in command and "name=a" in command
    assert command[-1] == "hydra/launcher=parallel"
    assert any(c.startswith(f"hydra.sweep.dir={tmp_path / 'runs' / 'cpu' / 'a'}") for c in command)
    (first,) = commands(results, ["b"], "cpu", tmp_path / "runs", [], first=1)
    assert "signal.image=skimage:astronaut" in first  # coffee is the second item
    with pytest.raises(UserError, match="matches no row"):
        commands(results, ["nope"], "cpu", tmp_path, [])


@pytest.mark.slow
def test_run_launches_a_real_smoke_sweep_and_reports_it(tmp_path):
    tiny = (*TINY, "signal.resize=16", "signal.crop=null")
    smoke = Row("smoke", "WS", "Table 1", "Xavier Uniform", "eval/psnr", None, tiny,
                ("ws_table1", "Xavier Uniform", 0, 0), ("skimage:*",),
                {"cpu": ("skimage:astronaut",)}, WIDE)  # fmt: skip
    args = [
        "--from",
        str(tmp_path / "none"),
        "--runs-to",
        str(tmp_path / "runs"),
        "--budget",
        "cpu",
    ]
    results = main([*args, "--out", str(tmp_path / "r"), "--run", "smoke"], [smoke])
    (result,) = results
    assert len(result.runs) == 1 and result.verdict in ("within", "outside")
    assert result.runs[0].folder.is_relative_to(tmp_path / "runs" / "cpu" / "smoke")


def test_every_row_reads_a_published_number_and_names_existing_experiments():
    assert len({r.id for r in ROWS}) == len(ROWS)
    for r in ROWS:
        assert r.published.value == published(*r.cell).value, r.id
        for budget in index.BUDGETS:
            assert (CONF / "experiment" / f"{r.experiment_for(budget)}.yaml").is_file(), r.id
            assert r.tolerance[budget].reason and r.launch[budget], r.id
            assert all(r.counts(item) for item in r.launch[budget]), r.id
    assert "ws_table1" in PAPER and published("sasnet", "all", 1, 0).value == 39.82
    with pytest.raises(UserError, match="no number"):
        published("sasnet", "all", 0, 5)


def test_row_overrides_are_those_of_the_reproduction_scripts():
    """The literals in rows.py follow what the scripts compute, so their run folders count."""
    import reproduce_nint
    import reproduce_sasnet
    import reproduce_ws_table1
    from hydra.utils import instantiate

    assert {k: tuple(v[0]) for k, v in reproduce_nint.STRATEGIES.items()} == index.NINT_STRATEGIES
    ws = {r.row: r.overrides for r in ROWS if r.id.startswith("ws-t1-kodak")}
    assert ws == {label: tuple(o) for label, o in reproduce_ws_table1.ROWS.values()}
    for budget, experiment in (("cpu", "aire_div2k_cpu"), ("paper", "aire_div2k")):
        probe = compose_config([f"+experiment={experiment}"])
        small = instantiate(probe.schedule).final_widths(probe.backbone.hidden_features)
        assert index.AIRE_SMALL[budget] == f"[{','.join(map(str, small))}]"
        assert index.AIRE_PRUNE[budget] == probe.backbone.hidden_features[0] - small[0]
    for budget, experiment in (("cpu", "sasnet_div2k_cpu"), ("paper", "sasnet_div2k")):
        cfg = compose_config([f"+experiment={experiment}"])
        width = reproduce_sasnet.equal_width(reproduce_sasnet.trainable(cfg))
        assert index.SASNET_EQUAL_WIDTH[budget] == width
