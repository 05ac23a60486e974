"""scripts/neural_dataset.py (WS App. E.2): fit a dataset to a batch-averaged target PSNR, save
it as one file whose rows rebuild each network, classify the flattened weights."""

from __future__ import annotations

import sys

import pytest
import torch
from conftest import REPO
from torch import nn

from inr_bench.signals.image import grid

sys.path.insert(0, str(REPO / "scripts"))
import neural_dataset as nd  # noqa: E402

NETWORK = ["backbone.hidden_features=8", "backbone.hidden_layers=1"]


def test_fit_reaches_each_target_and_the_file_rebuilds_every_network(tmp_path):
    images, labels = nd.load_digits_images(6)
    assert images.shape == (6, 8, 8) and 0 <= images.min() and images.max() <= 1
    net = nd.build_networks(len(images), 2.0, NETWORK, seed=0)
    fits = nd.fit_to_targets(net, images, [16.0, 20.0], lr=3e-3, max_steps=300, check_every=5)
    assert set(fits) == {16.0, 20.0}
    assert fits[16.0]["steps"] <= fits[20.0]["steps"]
    for target, fit in fits.items():
        assert fit["psnr"].mean() >= target  # the stopping rule: mean over images
    path = nd.save_neural_dataset(tmp_path / "d.pt", net, fits[20.0], labels, alpha=2.0)
    coords, values = grid(8, 8), images.reshape(6, 64, 1)
    for j in (0, 5):
        with torch.no_grad():
            mse = (nd.load_network(path, j)(coords) - values[j]).square().mean()
        assert -10 * torch.log10(mse) == pytest.approx(float(fits[20.0]["psnr"][j]), abs=1e-3)
    assert torch.equal(torch.load(path)["labels"], labels)


def test_weight_scaling_multiplies_every_layer_but_the_last():
    one = nd.build_networks(2, 1.0, NETWORK, seed=3).params
    two = nd.build_networks(2, 2.0, NETWORK, seed=3).params
    assert torch.allclose(two["layers.0.weight"], 2 * one["layers.0.weight"])
    assert torch.allclose(two["layers.1.weight"], 2 * one["layers.1.weight"])
    assert torch.equal(two["last.weight"], one["last.weight"])


def test_classifier_is_four_layers_of_256_and_learns_separable_features():
    linears = [m for m in nd.classifier(20, 10) if isinstance(m, nn.Linear)]
    assert [m.out_features for m in linears] == [256, 256, 256, 10]
    labels = torch.arange(500) % 10
    noise = torch.randn(500, 20, generator=torch.Generator().manual_seed(0))
    x = 5 * nn.functional.one_hot(labels, 20).float() + noise
    train, test = nd.split(500, 0.2, seed=0)
    assert len(test) == 100 and len(set(train.tolist()) | set(test.tolist())) == 500
    assert nd.train_classifier(x, labels, train, test, seed=0, epochs=5) > 0.9
