"""Who the members of a run are: one per (signal, seed) pair (a plain run has one).

``signal.image`` names a set when it is a list, a registered dataset ("kodak", "div2k"), a
folder, or a glob ("kodak/kodim0*", "photos/*.png"); ``seeds`` (a top-level list) gives each
signal several networks. Members are ordered signal-major: (img0, s0), (img0, s1), ...
Member i is built exactly as a run of that image and seed alone builds its network.
"""

from __future__ import annotations

import copy
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, open_dict

from inr_bench.backbones.base import Backbone
from inr_bench.errors import UserError
from inr_bench.runtime import seed_everything
from inr_bench.signals.base import Signal

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True)
class Member:
    """One network of a run: its image reference (None: the signal as configured)."""

    index: int
    seed: int
    image: str | None

    @property
    def name(self) -> str:
        image = "" if self.image is None else f"{Path(self.image).stem}/"
        return f"{image}seed{self.seed}"


def _dataset_files(name: str) -> list[str] | None:
    """ "kodak" -> ["kodak/kodim01", ...] when ``name`` is a registered dataset, else None."""
    from inr_bench.datasets import DATASETS

    dataset = DATASETS.get(name)
    if dataset is None:
        return None
    return [f"{name}/{f.name}" for f in dataset.files if f.name.endswith(IMAGE_SUFFIXES)]


def _glob(pattern: str) -> list[str]:
    """Files matching ``pattern``; a pattern that starts with a dataset name ("kodak/kodim0*")
    is matched inside that dataset's folder under the data root."""
    from inr_bench import data
    from inr_bench.datasets import DATASETS

    head, _, rest = pattern.partition("/")
    if head in DATASETS and rest:
        pattern = str(data.resolve(head) / rest)
    found = sorted(p for p in glob.glob(pattern) if p.lower().endswith(IMAGE_SUFFIXES))
    if not found:
        raise UserError(f"signal.image={pattern!r} matches no image file")
    return found


def image_set(image: object) -> list[str] | None:
    """The image references ``signal.image`` names, or None when it names one image."""
    if isinstance(image, (list, tuple, ListConfig)):
        if not image:
            raise UserError("signal.image is an empty list")
        return [str(i) for i in image]
    ref = str(image)
    if ref.startswith("skimage:"):
        return None
    if any(c in ref for c in "*?["):
        return _glob(ref)
    files = _dataset_files(ref) if "/" not in ref else None
    if files is not None:
        return files
    path = Path(ref).expanduser()
    if path.is_dir():
        found = sorted(str(p) for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise UserError(f"signal.image={ref}: the folder holds no image file")
        return found
    return None


def seeds_of(cfg: DictConfig) -> list[int] | None:
    """The ``seeds`` list, or None when the run has the single ``seed``."""
    seeds = cfg.get("seeds")
    if seeds is None:
        return None
    if not isinstance(seeds, (list, tuple, ListConfig)) or not seeds:
        raise UserError(f"seeds must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise UserError(f"seeds lists a seed twice: {list(seeds)}")
    return [int(s) for s in seeds]


def is_batched(cfg: DictConfig) -> bool:
    """True when the run trains several networks: ``seeds`` is a list or the signal a set
    (a ``seeds`` list of one seed is a run of one network, in the many-network folder)."""
    image = cfg.signal.get("image")
    return seeds_of(cfg) is not None or (image is not None and image_set(image) is not None)


def expand_members(cfg: DictConfig) -> list[Member]:
    """Members in signal-major order (see the module docstring)."""
    seeds = seeds_of(cfg) or [int(cfg.seed)]
    image = cfg.signal.get("image")
    images = image_set(image) if image is not None else None
    refs: list[str | None] = images if images is not None else [None]
    pairs = [(ref, seed) for ref in refs for seed in seeds]
    return [Member(i, seed, ref) for i, (ref, seed) in enumerate(pairs)]


def member_config(cfg: DictConfig, member: Member) -> DictConfig:
    """The single run's config of ``member``: its seed (so that ``${seed}`` in any group, e.g.
    AIRe's generator, resolves to it), its image, and ``seeds`` null."""
    single = copy.deepcopy(cfg)
    with open_dict(single):
        single.seeds = None
        single.seed = member.seed
        if member.image is not None:
            single.signal.image = member.image
    return single


def build_member(cfg: DictConfig, member: Member) -> tuple[Signal, Backbone, Any, Any]:
    """Member's signal, freshly initialised network, sampler (bound to its seed) and schedule,
    in one order (seed, signal, backbone, init, sampler, schedule), so that member i equals the
    run of its image and seed alone."""
    single = member_config(cfg, member)
    seed_everything(member.seed)
    signal = instantiate(single.signal)
    model = instantiate(single.backbone)(in_dim=signal.in_dim, out_dim=signal.out_dim)
    instantiate(single.init)(model)
    sampler = instantiate(single.sampler)
    sampler.bind(signal.num_points, member.seed)
    return signal, model, sampler, instantiate(single.schedule)
