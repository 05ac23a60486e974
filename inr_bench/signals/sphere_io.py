"""Reading a field on a latitude–longitude grid: NPY, NPZ (COIN++'s ERA5 files), NetCDF.

Every reader returns ``(latitude (H,), longitude (W,), field (H, W))`` in degrees, float64, with
missing values (NetCDF ``_FillValue`` / ``missing_value``) as NaN. Bad input stops with one
UserError naming the file and the key: an unknown variable (the message lists the file's), a grid
whose shape does not match its axes, latitudes outside [-90, 90].

Formats:
- ``.npy``: a 2-D array (H, W) on the equiangular grid of Dupont et al.'s ERA5 loaders: latitude
  ``linspace(90, -90, H)`` (both poles), longitude ``linspace(0, 360, W, endpoint=False)``.
- ``.npz``: the array ``variable`` with axes ``lat_key`` / ``lon_key`` (COIN++ / "neural function
  distributions" ERA5 files: ``temperature``, ``latitude``, ``longitude``); without the axis
  keys, the equiangular grid above.
- ``.nc``: NetCDF 3 through SciPy (no extra dependency); NetCDF 4 (an HDF5 file) through h5py
  when it is installed, else an error that says how to convert or install. A variable with a
  leading time axis (ERA5's (time, latitude, longitude)) is read at ``time_index``; packed
  variables are unpacked with their ``scale_factor`` / ``add_offset``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inr_bench.errors import UserError

SUFFIXES = (".npy", ".npz", ".nc")


def equiangular_axes(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(H,) latitudes 90 → -90 (poles included) and (W,) longitudes 0 → 360 - 360/W, degrees."""
    height, width = shape
    return np.linspace(90.0, -90.0, height), np.linspace(0.0, 360.0, width, endpoint=False)


def read_grid(
    path: Path, variable: str, lat_key: str, lon_key: str, time_index: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(latitude (H,), longitude (W,), field (H, W)) from ``path``; see the module docstring."""
    name = path.name.lower()
    if name.endswith(".npy"):
        field = _load(path, np.load)
        lat, lon = equiangular_axes(_as_2d(field, path, "the array").shape)
    elif name.endswith(".npz"):
        with _load(path, np.load) as archive:
            arrays = {k: archive[k] for k in archive.files}
        lat, lon, field = _pick(arrays, path, variable, lat_key, lon_key)
    elif name.endswith(".nc"):
        lat, lon, field = _pick(_netcdf(path), path, variable, lat_key, lon_key)
    else:
        raise UserError(f"signal.field: {path} is not one of {', '.join(SUFFIXES)}")
    field = np.asarray(field, dtype=np.float64)
    if field.ndim == 3:  # (time, lat, lon)
        if not -field.shape[0] <= time_index < field.shape[0]:
            raise UserError(
                f"signal.time_index={time_index}: {path}:{variable} has {field.shape[0]} times"
            )
        field = field[time_index]
    field = _as_2d(field, path, variable)
    return _check_axes(np.asarray(lat, float), np.asarray(lon, float), field, path, variable)


def _load(path: Path, loader):
    try:
        return loader(path)
    except Exception as err:
        raise UserError(f"signal.field: {path} is not readable ({err})") from err


def _as_2d(field: np.ndarray, path: Path, what: str) -> np.ndarray:
    if field.ndim != 2:
        raise UserError(
            f"signal.field: {path}:{what} has shape {field.shape}; expected (lat, lon) or "
            "(time, lat, lon)"
        )
    return field


def _pick(arrays: dict, path: Path, variable: str, lat_key: str, lon_key: str) -> tuple:
    """The variable and its axes from a name → array mapping (NPZ or NetCDF)."""
    if variable not in arrays:
        raise UserError(
            f"signal.variable={variable!r}: no such variable in {path} (it holds "
            f"{', '.join(sorted(arrays))}); set signal.variable to one of them"
        )
    field = np.asarray(arrays[variable])
    if lat_key in arrays and lon_key in arrays:
        return np.asarray(arrays[lat_key]), np.asarray(arrays[lon_key]), field
    if lat_key in arrays or lon_key in arrays or path.name.lower().endswith(".nc"):
        missing = lon_key if lat_key in arrays else lat_key
        raise UserError(
            f"signal.lat_key / signal.lon_key: {path} has no axis {missing!r} (it holds "
            f"{', '.join(sorted(arrays))})"
        )
    return (*equiangular_axes(field.shape[-2:]), field)


def _check_axes(lat: np.ndarray, lon: np.ndarray, field: np.ndarray, path: Path, variable: str):
    if lat.ndim != 1 or lon.ndim != 1 or field.shape != (len(lat), len(lon)):
        hint = (
            " (transposed? the field must be (lat, lon))"
            if field.shape
            == (
                len(lon),
                len(lat),
            )
            else ""
        )
        raise UserError(
            f"signal.field: {path}:{variable} has shape {field.shape} but its axes have "
            f"{lat.shape} latitudes and {lon.shape} longitudes{hint}"
        )
    if not (np.isfinite(lat).all() and np.abs(lat).max() <= 90.0 and np.isfinite(lon).all()):
        raise UserError(f"signal.lat_key: {path} has latitudes outside [-90, 90] degrees")
    return lat, lon, field


def _netcdf(path: Path) -> dict[str, np.ndarray]:
    """Every variable of a NetCDF file, unpacked, fill values as NaN."""
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic[:3] == b"CDF":
        from scipy.io import netcdf_file

        with _load(path, lambda p: netcdf_file(p, "r", mmap=False)) as nc:
            return {k: _unpack(v.data, v._attributes) for k, v in nc.variables.items()}
    if magic == b"\x89HDF":
        return _netcdf4(path)
    raise UserError(f"signal.field: {path} is not a NetCDF file")


def _netcdf4(path: Path) -> dict[str, np.ndarray]:
    try:
        import h5py
    except ImportError as err:
        raise UserError(
            f"signal.field: {path} is NetCDF 4 (HDF5): `pip install h5py`, or convert it to "
            "NetCDF 3 (`nccopy -k classic in.nc out.nc`) or to .npz"
        ) from err
    with _load(path, lambda p: h5py.File(p, "r")) as nc:
        return {
            k: _unpack(v[()], dict(v.attrs)) for k, v in nc.items() if isinstance(v, h5py.Dataset)
        }


def _unpack(data: np.ndarray, attrs: dict) -> np.ndarray:
    """CF conventions: fill / missing values → NaN, then value · scale_factor + add_offset."""
    data = np.array(data)
    out = data.astype(np.float64)
    for key in ("_FillValue", "missing_value"):
        if key in attrs:
            out[data == np.asarray(attrs[key]).ravel()[0]] = np.nan
    scale = float(np.asarray(attrs.get("scale_factor", 1.0)).ravel()[0])
    offset = float(np.asarray(attrs.get("add_offset", 0.0)).ravel()[0])
    return out * scale + offset
