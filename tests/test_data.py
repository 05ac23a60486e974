"""Dataset registry: resolving references, error messages, atomic verified downloads, the CLI.

Fast and offline: downloads come from ``file://`` URLs of files written to a tmp folder, and the
real registry is only read (plus one ``data`` test that checks the data root's checksums).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from inr_bench import data
from inr_bench.datasets import Archive, Dataset, RemoteFile


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """An empty data root, also set as INR_BENCH_DATA (conftest may point it at real data)."""
    path = tmp_path / "root"
    path.mkdir()
    monkeypatch.setenv(data.ENV_VAR, str(path))
    return path


@pytest.fixture
def toy(tmp_path, monkeypatch) -> dict[str, bytes]:
    """Register dataset "toy": two plain files, a zip, a tar.gz and a lone .gz, all file:// URLs."""
    src = tmp_path / "src"
    src.mkdir()
    payloads = {n: f"payload of {n}\n".encode() * 50 for n in ("a.txt", "b.bin", "c.ply", "d.ply")}
    payloads["e.ply"] = b"lone gzipped file\n"
    for name in ("a.txt", "b.bin"):
        (src / name).write_bytes(payloads[name])
    with zipfile.ZipFile(src / "pack.zip", "w") as zipped:
        zipped.writestr("pack/c.ply", payloads["c.ply"])
        zipped.writestr("pack/ignored.txt", b"not registered")
    with tarfile.open(src / "pack.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("./inner/d_orig.ply")
        info.size = len(payloads["d.ply"])
        tar.addfile(info, io.BytesIO(payloads["d.ply"]))
    (src / "e.ply.gz").write_bytes(gzip.compress(payloads["e.ply"]))

    def url(name: str) -> str:
        return (src / name).as_uri()

    dataset = Dataset(
        "toy",
        "toy_folder",
        "test fixture",
        "none",
        (
            RemoteFile("a.txt", url("a.txt"), sha(payloads["a.txt"])),
            RemoteFile("b.bin", url("b.bin")),  # no checksum known
            RemoteFile("c.ply", sha256=sha(payloads["c.ply"])),
            RemoteFile("d.ply"),
            RemoteFile("e.ply"),
        ),
        (
            Archive(url("pack.zip"), (("pack/c.ply", "c.ply"),)),
            Archive(url("pack.tar.gz"), (("inner/d_orig.ply", "d.ply"),)),
            Archive(url("e.ply.gz"), (("e.ply", "e.ply"),)),
        ),
    )
    monkeypatch.setitem(data.DATASETS, "toy", dataset)
    return payloads


def offline(monkeypatch) -> None:
    """Make any further URL fetch fail, to prove a call did not download."""

    def refuse(url, *args, **kwargs):
        raise AssertionError(f"unexpected fetch of {url}")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- data root and resolve -----------------------------------------------------------------------


def test_data_root_env_then_default(monkeypatch, tmp_path):
    monkeypatch.setenv(data.ENV_VAR, str(tmp_path))
    assert data.data_root() == tmp_path
    monkeypatch.delenv(data.ENV_VAR)
    assert data.data_root() == Path.home() / ".cache" / "inr_bench" / "data"


@pytest.mark.parametrize(
    ("ref", "relative"),
    [
        ("kodak/kodim05", "kodak/kodim05.png"),
        ("kodak/kodim05.png", "kodak/kodim05.png"),
        ("div2k/00", "div2k/00.png"),
        ("audio/bach", "audio/bach.wav"),
        ("meshes/stanford-bunny", "meshes/stanford-bunny.obj"),
        ("meshes/armadillo.off", "meshes/armadillo.off"),
        ("volumes/colin27_t1", "volumes/colin27_t1.nii.gz"),
        ("stanford/thai_statue", "stanford/thai_statue.ply"),
    ],
)
def test_resolve_with_and_without_suffix(tmp_path, ref, relative):
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_bytes(b"x")
    assert data.resolve(ref, root=tmp_path) == tmp_path / relative


def test_resolve_uses_the_env_root_and_dataset_folder(root):
    (root / "audio").mkdir()
    for name in ("bach.wav", "counting.wav"):
        (root / "audio" / name).write_bytes(b"x")
    assert data.resolve("audio/counting") == root / "audio" / "counting.wav"
    assert data.resolve("audio") == root / "audio"


def test_missing_dataset_names_path_and_download_command(root):
    with pytest.raises(data.DatasetMissingError) as err:
        data.resolve("kodak/kodim05")
    message = str(err.value)
    assert isinstance(err.value, FileNotFoundError)
    assert "\n" not in message
    assert str(root / "kodak" / "kodim05.png") in message
    assert "`python -m inr_bench.data download kodak`" in message
    assert "INR_BENCH_DATA" in message


def test_missing_file_with_explicit_root_gives_root_flag(tmp_path):
    with pytest.raises(data.DatasetMissingError, match="--root"):
        data.resolve("div2k/03", root=tmp_path)


def test_manual_dataset_says_how_to_get_it(root):
    with pytest.raises(data.DatasetMissingError, match="no public download: copy weights/"):
        data.resolve("weights/lpips_alexnet_features")
    with pytest.raises(RuntimeError, match="cannot be downloaded automatically.*mediatum"):
        data.download("scalarflow")


def test_unknown_dataset_lists_known_names():
    with pytest.raises(data.UnknownDatasetError) as err:
        data.resolve("kodakk/kodim05")
    for name in ("kodak", "div2k", "audio", "meshes", "volumes"):
        assert name in str(err.value)


def test_unregistered_file_lists_the_dataset_files(root):
    with pytest.raises(data.DatasetMissingError, match=r"audio has bach, counting\): run `"):
        data.resolve("audio/bachh")
    with pytest.raises(data.DatasetMissingError, match=r"kodak has kodim01 \.\.\. kodim24"):
        data.resolve("kodak/kodim99")


# --- download ------------------------------------------------------------------------------------


def test_download_writes_verified_files_and_extracts_archives(root, toy, monkeypatch):
    folder = data.download("toy")
    assert folder == root / "toy_folder"
    for name, payload in toy.items():
        assert (folder / name).read_bytes() == payload
    assert not (folder / "ignored.txt").exists()  # only registered archive members
    assert leftovers(folder) == []  # no temp files or archives left behind
    offline(monkeypatch)
    assert data.download("toy") == folder  # all present and matching: nothing fetched


def test_download_replaces_a_corrupt_file_and_force_refetches(root, toy):
    folder = data.download("toy", root=root)
    (folder / "a.txt").write_bytes(b"corrupt")
    (folder / "b.bin").write_bytes(b"local edit")  # no checksum: kept unless forced
    data.download("toy", root=root)
    assert (folder / "a.txt").read_bytes() == toy["a.txt"]
    assert (folder / "b.bin").read_bytes() == b"local edit"
    data.download("toy", root=root, force=True)
    assert (folder / "b.bin").read_bytes() == toy["b.bin"]


def test_checksum_mismatch_raises_and_writes_nothing(root, toy, monkeypatch):
    wrong = "0" * 64
    entry = data.DATASETS["toy"].files[0]
    broken = Dataset("toy", "toy_folder", "", "", (RemoteFile("a.txt", entry.url, wrong),))
    monkeypatch.setitem(data.DATASETS, "toy", broken)
    with pytest.raises(data.ChecksumError) as err:
        data.download("toy")
    message = str(err.value)
    assert f"expected {wrong}" in message
    assert f"got {sha(toy['a.txt'])}" in message
    assert "--no-verify" in message
    folder = root / "toy_folder"
    assert list(root.iterdir()) == []  # no folder, no temp files
    data.download("toy", verify=False)
    assert (folder / "a.txt").read_bytes() == toy["a.txt"]


def test_archive_member_checksum_is_verified(root, toy, monkeypatch):
    dataset = data.DATASETS["toy"]
    files = tuple(
        RemoteFile(f.name, f.url, "f" * 64) if f.name == "c.ply" else f for f in dataset.files
    )
    monkeypatch.setitem(
        data.DATASETS, "toy", Dataset("toy", "toy_folder", "", "", files, dataset.archives)
    )
    with pytest.raises(data.ChecksumError, match=r"pack\.zip:pack/c\.ply"):
        data.download("toy")
    assert list(root.iterdir()) == []


def test_interrupted_download_leaves_no_file(root, toy, monkeypatch):
    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise ConnectionResetError("connection dropped")

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Broken(b""))
    with pytest.raises(data.DownloadError, match="connection dropped") as err:
        data.download("toy")
    assert isinstance(err.value.__cause__, ConnectionResetError)
    assert list(root.iterdir()) == []


def no_network(url, *args, **kwargs):
    raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))


def test_offline_download_names_dataset_url_and_fix_and_leaves_no_folder(
    tmp_path, toy, monkeypatch
):
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    root = tmp_path / "new" / "root"  # made by the call, so removed again
    monkeypatch.setenv(data.ENV_VAR, str(root))
    with pytest.raises(data.DownloadError) as err:
        data.download("toy")
    message = str(err.value)
    assert isinstance(err.value, OSError) and "\n" not in message
    assert message.startswith(f"could not download toy from {data.DATASETS['toy'].files[0].url} (")
    assert "name resolution" in message
    assert "nothing was written. Without network access, copy its files (a.txt, b.bin," in message
    assert f"into {root / 'toy_folder'}/, or set INR_BENCH_DATA to" in message
    assert not (tmp_path / "new").exists()


def test_failed_download_keeps_a_partial_folder_as_it_was(root, toy, monkeypatch):
    folder = data.download("toy")
    (folder / "a.txt").unlink()
    (folder / "c.ply").write_bytes(b"corrupt")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(data.DownloadError, match=r"set --root to a data root"):
        data.download("toy", root=root)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in root.iterdir()) == ["toy_folder"]


def test_cli_download_offline_prints_one_line(root, toy, monkeypatch, capsys):
    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    assert data.main(["download", "toy"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: could not download toy from file:") and err.count("\n") == 1
    assert list(root.iterdir()) == []


# --- CLI -----------------------------------------------------------------------------------------


def test_cli_list_shows_every_dataset_and_its_state(root, toy, capsys):
    data.download("toy")
    assert data.main(["list"]) == 0
    out = capsys.readouterr().out
    assert str(root) in out
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    assert set(rows) == set(data.DATASETS)
    assert re.search(r"toy_folder/\s+present", rows["toy"])
    assert re.search(r"kodak/\s+missing\s+~15 MB\s+Eastman Kodak", rows["kodak"])


def test_cli_path_prints_the_file_or_the_fix(root, capsys):
    (root / "div2k").mkdir()
    (root / "div2k" / "07.png").write_bytes(b"x")
    assert data.main(["path", "div2k/07"]) == 0
    assert capsys.readouterr().out.strip() == str(root / "div2k" / "07.png")
    assert data.main(["path", "audio/bach"]) == 1
    assert "python -m inr_bench.data download audio" in capsys.readouterr().err


def test_cli_download_with_root_and_flags(tmp_path, toy, capsys):
    assert data.main(["download", "toy", "--root", str(tmp_path / "r"), "--no-verify"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "r" / "toy_folder")
    assert data.main(["download", "nope"]) == 1
    assert "known datasets: kodak" in capsys.readouterr().err


# --- the registry itself -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(data.DATASETS))
def test_registry_entry_is_consistent(name):
    dataset = data.DATASETS[name]
    assert dataset.name == name and dataset.folder and dataset.licence and dataset.description
    names = [f.name for f in dataset.files]
    assert len(set(names)) == len(names), f"{name}: duplicate file names"
    members = [target for archive in dataset.archives for _, target in archive.members]
    assert set(members) <= set(names), f"{name}: archive member not registered as a file"
    for entry in dataset.files:
        assert entry.url or entry.name in members or dataset.manual, (
            f"{name}/{entry.name}: no source"
        )
        for digest in filter(None, (entry.sha256, *entry.also_accept)):
            assert re.fullmatch(r"[0-9a-f]{64}", digest), f"{name}/{entry.name}: bad sha256"
        assert dataset.file(entry.name.split(".")[0]) == entry


@pytest.mark.data
def test_data_root_files_are_registered_and_match_their_checksums():
    root = data.data_root()
    checked, wrong, unregistered = 0, [], []
    for dataset in data.DATASETS.values():
        folder = root / dataset.folder
        names = {f.name for f in dataset.files}
        if names and folder.is_dir():
            unregistered += [
                str(p)
                for p in folder.rglob("*")
                if p.is_file()
                and not p.name.startswith(".")
                and p.relative_to(folder).as_posix() not in names
            ]
        for entry in dataset.files:
            path = folder / entry.name
            accepted = {entry.sha256, *entry.also_accept} - {None}
            if not path.is_file() or not accepted:
                continue
            checked += 1
            if (got := data._sha256(path)) not in accepted:
                wrong.append(
                    f"{dataset.name}/{entry.name}: got {got}, registered {sorted(accepted)}"
                )
    assert checked > 0, f"no registered file with a checksum under {root}"
    assert not wrong, "\n".join(wrong)
    assert not unregistered, f"files the registry does not know: {unregistered}"
