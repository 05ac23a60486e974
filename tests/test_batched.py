"""Runs of many networks (signal sets × seeds): member i is, weight for weight, the network a run
of its image and seed alone builds and trains, for every sampler and schedule; the run folder
reports each member and the mean ± std; what K > 1 members cannot do together is refused at
start-up."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import compose_cfg
from omegaconf import open_dict
from PIL import Image

from inr_bench.backbones import load_model
from inr_bench.errors import UserError
from inr_bench.members import build_member, expand_members, image_set, is_batched
from inr_bench.networks import Networks
from inr_bench.train import train

TINY = ["debug=smoke", "logger=none", "signal.resize=16", "~metrics.lpips", "~metrics.ssim"]
MLPS = ["siren", "finer", "wire", "gauss", "ffn", "pemlp", "relu_mlp"]
PAIRS = [(b, "native") for b in MLPS] + [
    (b, i) for b in ("siren", "finer") for i in ("weight_scaling", "nfsl", "xavier")
]
SEEDS = [0, 1, 2]


@pytest.mark.parametrize("backbone,init", PAIRS, ids=lambda x: str(x))
def test_stacked_members_are_the_single_networks(backbone, init):
    """Stacking keeps every member's init, and the batched forward and gradients equal each
    member's own (the same weights through the backbone's own forward)."""
    cfg = compose_cfg([*TINY, f"backbone={backbone}", f"init={init}", "seeds=[0,1,2]"])
    singles = [build_member(cfg, m)[1] for m in expand_members(cfg)]
    net = Networks(singles)
    x = torch.rand(3, 40, 2) * 2 - 1
    y = net(x)
    y.square().sum().backward()
    for i, single in enumerate(singles):
        torch.testing.assert_close(y[i], single(x[i]), rtol=1e-6, atol=1e-6)  # bmm vs addmm
        single(x[i]).square().sum().backward()
        for name, p in single.named_parameters():
            assert torch.equal(net.params[name][i], p), (backbone, init, name)
            torch.testing.assert_close(net.params[name].grad[i], p.grad, rtol=1e-5, atol=1e-5)
    assert net.flat_weights().shape == (3, singles[0].num_parameters())  # complex: 2 each


LATTICE = ["backbone=siren_lattice", "backbone.hidden_features=[40,32]", "backbone.hidden_layers=1"]
EQUAL = {  # every sampler and schedule (those that act do so within the 12 steps)
    "uniform": ["sampler=uniform", "init=weight_scaling", "init.alpha=1.5", "optim.lr_decay=0.1"],
    "nint": ["sampler=nint", "backbone=wire", "signal.value_range=[0,1]"],
    "int": ["sampler=int", "sampler.interval=2"],
    "egra": ["sampler=egra", "sampler.p=0.5"],
    "expansive": ["sampler=expansive", "sampler.expand=true"],
    "evos": ["sampler=evos"],  # a sampler loss term: member by member
    "soft_mining": ["sampler=soft_mining"],  # Langevin particles moved by member i's gradient
    "sasnet": ["backbone=sasnet", "backbone.mask_sparsity=0.01"],  # regularizer drawing points
    "clip": ["optim.clip_grad_norm=0.01"],  # each member's own gradient norm
    "bound": [*LATTICE, "schedule=bound"],
    "grow_columns": [
        *LATTICE,
        "schedule=grow_columns",
        "schedule.every=5",
        "schedule.n_add=2",
        "schedule.n_total=6",
    ],  # fmt: skip
    "prune_twd": [*LATTICE, "schedule=prune_twd", "schedule.wd_steps=3", "schedule.rec_steps=3"],
}


@pytest.mark.parametrize("case", EQUAL)
def test_member_equals_its_single_run(case, tmp_path):
    """K = 2 seeds in one optimizer over stacked tensors = 2 runs of ``train``: each member's
    loss is summed over members (not averaged), Adam is elementwise, and each member has its own
    sampler, schedule (surgery restacks the members, Adam state kept) and random stream."""
    assert_members_are_single_runs(EQUAL[case], tmp_path)


@pytest.mark.gpu
@pytest.mark.parametrize("case", ["sasnet", "uniform"])
def test_member_equals_its_single_run_on_cuda(case, tmp_path):
    """On a GPU each member also has its own CUDA random stream (SASNet's regularizer draws its
    points there)."""
    assert_members_are_single_runs([*EQUAL[case], "device=cuda"], tmp_path)


def assert_members_are_single_runs(overrides: list[str], tmp_path) -> None:
    steps = [
        "steps=12",
        "eval_every=12",
        "log_every=4",
        "signal.super_resolution=0",
        "signal.resize=8",
    ]
    cfg = compose_cfg([*TINY, *steps, *overrides, "seeds=[0,1]"], tmp_path / "k")
    batched = train(cfg)
    for i, seed in enumerate(SEEDS[:2]):
        single_cfg = cfg.copy()
        with open_dict(single_cfg):
            single_cfg.seeds = None
            single_cfg.seed, single_cfg.run_dir = seed, str(tmp_path / f"{i}")
        single = train(single_cfg)
        a = load_model(tmp_path / f"{i}/model.pt").state_dict()
        b = load_model(tmp_path / f"k/members/{i}/model.pt").state_dict()
        for name in a:
            torch.testing.assert_close(b[name], a[name], rtol=1e-5, atol=1e-5, msg=name)
        member = batched["members"][i]
        assert member["seed"] == seed
        key = "eval/" + single_cfg.signal.get("main_metric", "psnr")
        assert member.get(key) == pytest.approx(single.get(key), abs=1e-4)


def test_batched_aire_equals_single_runs(tmp_path):
    """AIRe per member (its own densified columns, TWD set and pruned neurons; equal counts):
    the restacked members after densify (step 1), TWD (5..10) and prune (11) equal 2 single
    runs, Adam state carried through the surgery."""
    steps = [
        "steps=12",
        "eval_every=12",
        "log_every=4",
        "signal.super_resolution=0",
        "signal.resize=8",
    ]
    cfg = compose_cfg([*TINY, *steps, "schedule=aire", "seeds=[0,1]"], tmp_path / "k")
    batched = train(cfg)
    member = load_model(tmp_path / "k/members/0/model.pt")
    assert member.spec()["hidden_features"] == [32 + 8 - 24, 32, 32]  # +25 % of 32, -60 % of 40
    assert batched["params"] == member.num_parameters()
    series = [json.loads(line) for line in (tmp_path / "k/metrics.jsonl").read_text().splitlines()]
    assert any("schedule/densified" in r for r in series) and any(
        "schedule/pruned/0" in r for r in series
    )
    for i, seed in enumerate((0, 1)):
        single_cfg = cfg.copy()
        with open_dict(single_cfg):
            single_cfg.seeds = None
            single_cfg.seed, single_cfg.run_dir = seed, str(tmp_path / f"{i}")
        train(single_cfg)
        a = load_model(tmp_path / f"{i}/model.pt").state_dict()
        b = load_model(tmp_path / f"k/members/{i}/model.pt").state_dict()
        assert {k: v.shape for k, v in a.items()} == {k: v.shape for k, v in b.items()}
        for name in a:
            torch.testing.assert_close(b[name], a[name], rtol=1e-5, atol=1e-5, msg=name)


def test_signal_set_run_folder(tmp_path):
    """Two images × two seeds: image-major members, per-member and mean ± std metrics, per-member
    scalars in metrics.jsonl, grids of reconstructions and errors."""
    images = "signal.image=[skimage:astronaut,skimage:coffee]"
    cfg = compose_cfg([*TINY, images, "signal.crop=256", "seeds=[3,4]"], tmp_path)
    result = train(cfg)
    final = json.loads((tmp_path / "metrics.json").read_text())
    members = final["members"]
    assert [(m["image"], m["seed"]) for m in members] == [
        ("skimage:astronaut", 3),
        ("skimage:astronaut", 4),
        ("skimage:coffee", 3),
        ("skimage:coffee", 4),
    ]
    psnrs = torch.tensor([m["eval/psnr"] for m in members], dtype=torch.float64)
    assert final["eval/psnr"] == pytest.approx(psnrs.mean().item())
    assert final["eval/psnr_std"] == pytest.approx(psnrs.std(unbiased=False).item())
    assert result["num_members"] == 4 and psnrs.std() > 0
    series = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert any("member/3/eval/psnr" in r and "eval/psnr_std" in r for r in series)
    assert any("member/0/train/loss" in r for r in series)
    for name in ("reconstructions.png", "errors.png", "curves.png", "members/3/model.pt"):
        assert (tmp_path / name).is_file(), name
    assert Image.open(tmp_path / "reconstructions.png").size == (32, 32)  # 2 x 2 cells of 16^2


def test_image_sets_from_folders_globs_lists_and_datasets(tmp_path):
    for name in ("b.png", "a.png", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    assert image_set(str(tmp_path)) == [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert image_set(str(tmp_path / "b*")) == [str(tmp_path / "b.png")]
    assert image_set(["x.png", "y.png"]) == ["x.png", "y.png"]
    assert image_set("div2k")[:2] == ["div2k/00.png", "div2k/01.png"]
    assert image_set("skimage:astronaut") is None and image_set("kodak/kodim01") is None
    with pytest.raises(UserError, match="matches no image"):
        image_set(str(tmp_path / "z*"))
    assert not is_batched(compose_cfg(TINY))
    assert is_batched(compose_cfg([*TINY, "seeds=[0]"]))
    assert is_batched(compose_cfg([*TINY, "signal.image=kodak"]))


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["schedule=rigl"], "one network and one optimizer"),
        (["schedule=depgraph"], "one network and one optimizer"),
        (["schedule=aire", "schedule.prune_rule=threshold"], "prune_rule=selected"),
        (["++compile=true"], "runs eagerly"),
        (["backbone=gaussian_image"], "GaussianImage cannot train as one of many"),
        (["backbone=sape", "schedule=sape"], "its encoding grows"),
        (["seeds=[0,0]"], "twice"),
        (["signal.image=[skimage:astronaut,skimage:coffee]", "signal.resize=[16,20]"], None),
        (["signal.image=[skimage:astronaut,skimage:camera]"], "identical shapes"),
    ],
    ids=lambda o: str(o)[:30],
)
def test_unsupported_choices_are_refused(overrides, message, tmp_path):
    sets = any(o.startswith(("seeds", "signal.image")) for o in overrides)
    seeds = [] if sets else ["seeds=[0,1]"]
    cfg = compose_cfg([*TINY, *overrides, *seeds], tmp_path)
    if message is None:  # same size: fine; a different size for one member is refused
        cfg.signal.resize = None
        message = "as many training points"
    with pytest.raises(UserError, match=message):
        train(cfg)


def test_sdf_members_equal_their_single_runs(tmp_path):
    """Losses with ∇f terms (SDF eikonal and normals) go member by member through each member's
    own module: member i's weights equal its single run's."""
    sdf = ["debug=smoke", "logger=none", "signal=sdf", "signal.pool_size=2000",
           "signal.mc_resolution=24", "signal.render=false", "steps=4", "eval_every=4"]  # fmt: skip
    cfg = compose_cfg([*sdf, "seeds=[0,1]"], tmp_path / "k")
    train(cfg)
    for i, seed in enumerate((0, 1)):
        single_cfg = compose_cfg([*sdf, f"seed={seed}"], tmp_path / f"{i}")
        train(single_cfg)
        a = load_model(tmp_path / f"{i}/model.pt").state_dict()
        b = load_model(tmp_path / f"k/members/{i}/model.pt").state_dict()
        for name in a:
            torch.testing.assert_close(b[name], a[name], rtol=1e-5, atol=1e-5, msg=name)
