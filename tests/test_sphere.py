"""Spherical signal: the 3-D lift, harmonics with a known integral, both PSNRs against closed
forms, the file formats (COIN++'s .npz, .npy, packed NetCDF 3) and one clear error per bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import TINY, compose_cfg

from inr_bench.errors import UserError
from inr_bench.metrics.sphere import PSNR, WeightedPSNR
from inr_bench.signals.sphere import SphereSignal, harmonic_field, lift, real_harmonic
from inr_bench.signals.sphere_io import equiangular_axes
from inr_bench.train import train


def test_lift_puts_the_grid_on_the_unit_sphere():
    points = lift(np.array([90.0, 0.0, 0.0, -30.0]), np.array([0.0, 90.0]))
    np.testing.assert_allclose(np.linalg.norm(points, axis=-1), 1.0)
    np.testing.assert_allclose(points[0, 0], [0, 0, 1], atol=1e-12)  # north pole
    np.testing.assert_allclose(points[1, 0], [1, 0, 0], atol=1e-12)  # (0°, 0°)
    np.testing.assert_allclose(points[2, 1], [0, 1, 0], atol=1e-12)  # (0°, 90° E)
    np.testing.assert_allclose(points[3, 0], [math.cos(math.pi / 6), 0, -0.5], atol=1e-12)


def test_real_harmonics_are_orthonormal_on_the_sphere():
    """∫ Y_a Y_b dΩ = δ_ab by quadrature with the cos-latitude cell areas of a fine grid."""
    lat, lon = equiangular_axes((181, 360))
    area = np.cos(np.radians(lat))[:, None] * np.radians(1.0) ** 2  # dΩ = cos φ dφ dθ
    pairs = [(0, 0), (1, -1), (2, 1), (3, -2), (4, 4)]
    ys = [real_harmonic(n, m, lat, lon) for n, m in pairs]
    gram = np.array([[(a * b * area).sum() for b in ys] for a in ys])
    np.testing.assert_allclose(gram, np.eye(len(pairs)), atol=5e-3)


def test_synthetic_field_power_is_the_sum_of_its_squared_coefficients():
    lat, lon, field, coefficients = harmonic_field((181, 360), degree=4, seed=3)
    area = np.cos(np.radians(lat))[:, None] * np.radians(1.0) ** 2
    power = (field**2 * area).sum()
    assert power == pytest.approx(sum(c * c for c in coefficients.values()), rel=5e-3)


def test_plain_and_weighted_psnr_match_closed_forms():
    lat = torch.tensor([80.0, 0.0, -80.0])
    weight = torch.cos(torch.deg2rad(lat))[:, None].expand(3, 4).float()
    target = torch.full((3, 4), 0.5)
    assert PSNR()(target + 0.1, target, weight) == pytest.approx(20.0)
    assert WeightedPSNR()(target + 0.1, target, weight) == pytest.approx(20.0)
    polar = target.clone()
    polar[[0, 2]] += 0.1  # error only at ±80°, where cells are small
    plain = -10 * math.log10(2 / 3 * 0.01)
    cos80 = math.cos(math.radians(80))
    weighted = -10 * math.log10(2 * cos80 * 0.01 / (2 * cos80 + 1))
    assert PSNR()(polar, target, weight) == pytest.approx(plain, abs=1e-4)
    assert WeightedPSNR()(polar, target, weight) == pytest.approx(weighted, abs=1e-4)
    masked = weight.clone()
    masked[0] = 0  # a masked row counts in neither
    assert PSNR()(polar, target, masked) == pytest.approx(-10 * math.log10(0.005), abs=1e-4)


def coinpp_file(path, lat=None, lon=None, temperature=None):
    """An .npz in COIN++'s ERA5 layout: temperature (H, W) in K, latitude (H,), longitude (W,)."""
    lat = np.linspace(90, -90, 5) if lat is None else lat
    lon = np.linspace(0, 360, 8, endpoint=False) if lon is None else lon
    if temperature is None:
        temperature = 250 + np.add.outer(np.arange(len(lat)), np.arange(len(lon))).astype(float)
    np.savez(path, temperature=temperature, latitude=lat, longitude=lon)
    return path


def test_coinpp_npz_is_lifted_and_normalised_by_the_value_bounds(tmp_path):
    path = coinpp_file(tmp_path / "t.npz")
    signal = SphereSignal(str(path), value_bounds=[240.0, 270.0])
    assert signal.coords.shape == (40, 3) and signal.values.shape == (40, 1)
    np.testing.assert_allclose(signal.coords[0], [0, 0, 1], atol=1e-6)  # first row: north pole
    assert signal.values[0, 0] == pytest.approx(10 / 30) and signal.values[-1, 0] == pytest.approx(
        (250 + 4 + 7 - 240) / 30
    )
    np.save(tmp_path / "t.npy", np.load(path)["temperature"])
    same = SphereSignal(str(tmp_path / "t.npy"), value_bounds=[240.0, 270.0])
    torch.testing.assert_close(same.coords, signal.coords)
    torch.testing.assert_close(same.values, signal.values)


def test_packed_netcdf3_with_a_time_axis_and_fill_values(tmp_path):
    from scipy.io import netcdf_file

    path = tmp_path / "era5.nc"
    kelvin = 250 + np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    with netcdf_file(path, "w") as nc:
        for name, size in (("time", 2), ("latitude", 3), ("longitude", 4)):
            nc.createDimension(name, size)
        nc.createVariable("latitude", "f4", ("latitude",))[:] = [60, 0, -60]
        nc.createVariable("longitude", "f4", ("longitude",))[:] = [0, 90, 180, 270]
        t2m = nc.createVariable("t2m", "i2", ("time", "latitude", "longitude"))
        t2m.scale_factor, t2m.add_offset, t2m._FillValue = 0.5, 250.0, -32767
        packed = np.round((kelvin - 250.0) / 0.5).astype(np.int16)
        packed[1, 0, 0] = -32767  # a missing value
        t2m[:] = packed
    with pytest.warns(UserWarning, match="1 NaN/inf points masked"):
        signal = SphereSignal(str(path), variable="t2m", time_index=1, nan_policy="mask")
    assert len(signal.coords) == 11 and not signal.mask[0, 0]
    kept = kelvin[1].ravel()[1:]
    expected = (kept - kept.min()) / (kept.max() - kept.min())
    np.testing.assert_allclose(signal.values[:, 0], expected, atol=1e-6)


def test_bad_inputs_fail_naming_the_file_and_the_key(tmp_path):
    five_rows = 260 + np.arange(40.0).reshape(5, 8)
    bad_shape = coinpp_file(tmp_path / "shape.npz", np.linspace(90, -90, 4), None, five_rows)
    with pytest.raises(UserError, match=r"shape\.npz:temperature has shape \(5, 8\) but its axes"):
        SphereSignal(str(bad_shape))
    good = coinpp_file(tmp_path / "good.npz")
    with pytest.raises(UserError, match=r"variable='t2m'.*good\.npz.*latitude, longitude"):
        SphereSignal(str(good), variable="t2m")
    field = np.ones((5, 8))
    field[2, 3] = np.nan
    holed = coinpp_file(tmp_path / "nan.npz", temperature=field * 280 + np.arange(8))
    with pytest.raises(UserError, match=r"nan\.npz:temperature has 1 NaN.*nan_policy=mask"):
        SphereSignal(str(holed))
    with pytest.warns(UserWarning, match="1 NaN/inf points masked"):
        assert len(SphereSignal(str(holed), nan_policy="mask").coords) == 39
    with pytest.raises(UserError, match="signal.nan_policy"):
        SphereSignal(nan_policy="ignore")


def test_netcdf4_without_h5py_says_how_to_read_it(tmp_path):
    pytest.importorskip("scipy")
    try:
        import h5py  # noqa: F401

        pytest.skip("h5py is installed: NetCDF 4 files are read")
    except ImportError:
        pass
    path = tmp_path / "era5.nc"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(UserError, match=r"era5\.nc is NetCDF 4.*pip install h5py.*nccopy"):
        SphereSignal(str(path), variable="t2m")


def test_a_small_siren_fits_the_synthetic_field_and_draws_the_map(tmp_path):
    overrides = [
        "signal=sphere",
        "signal.synthetic_shape=[16,32]",
        "signal.synthetic_degree=3",
        *TINY,
        "backbone=siren",
        "backbone.hidden_features=32",
        "backbone.hidden_layers=1",
        "backbone.omega_0=10",
        "steps=100",
        "eval_every=100",
        "optim.optimizer.lr=1e-3",
    ]
    result = train(compose_cfg(overrides, tmp_path))
    assert result["eval/psnr"] > 30 and result["eval/psnr_weighted"] > 30, result
    assert (tmp_path / "sphere.png").stat().st_size > 0


def test_ws_era5_fits_a_file_of_the_era5_folder(tmp_path, monkeypatch):
    """The paper-scale experiment picks signal.item of the sorted split folder under the root."""
    split = tmp_path / "root" / "era5" / "era5_temp2m_16x_test"
    split.mkdir(parents=True)
    for k in range(2):
        coinpp_file(split / f"{k}.npz", temperature=np.full((5, 8), 250.0 + 10 * k) + np.eye(5, 8))
    monkeypatch.setenv("INR_BENCH_DATA", str(tmp_path / "root"))
    tiny = ["steps=3", "eval_every=3", "backbone.hidden_features=16", "signal.item=1"]
    cfg = compose_cfg(["+experiment=ws_era5", *TINY, *tiny], tmp_path / "run")
    result = train(cfg)
    assert math.isfinite(result["eval/psnr"])
    signal = SphereSignal("era5", pattern="era5_temp2m_16x_test/*.npz", item=1, value_bounds=[0, 1])
    assert signal.values.min() == 260.0  # the second file, unnormalised by these bounds
    with pytest.raises(UserError, match=r"signal\.item=2: .* has 2 files"):
        SphereSignal("era5", pattern="era5_temp2m_16x_test/*.npz", item=2)
