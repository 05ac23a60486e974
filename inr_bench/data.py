"""Dataset registry: what lives under the data root, where it comes from, how to check it.

The data root is ``$INR_BENCH_DATA``, else ``~/.cache/inr_bench/data``. It holds one folder per
dataset (``kodak/kodim01.png``, ``audio/bach.wav``, ...), so a copy of another machine's data
root serves as it is.

    python -m inr_bench.data list
    python -m inr_bench.data download kodak [--root DIR] [--no-verify] [--force]
    python -m inr_bench.data path kodak/kodim05
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import http.client
import logging
import os
import shlex
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from inr_bench.datasets import DATASETS, Archive, Dataset, RemoteFile
from inr_bench.errors import UserError

ENV_VAR = "INR_BENCH_DATA"
log = logging.getLogger(__name__)


class DatasetMissingError(FileNotFoundError):
    """A registered dataset or file is absent from the data root; the message says how to get it."""


class UnknownDatasetError(UserError, ValueError):
    """A dataset name that is not in the registry; the message lists the known ones."""


class UnknownReferenceError(UnknownDatasetError, FileNotFoundError):
    """A config string that names neither an existing file nor a registered dataset: it is both
    a missing file and an unknown dataset name, so either ``except`` catches it."""


class ChecksumError(RuntimeError):
    """Downloaded bytes do not match the registered sha256; nothing was written."""


class DownloadError(UserError, OSError):
    """A dataset could not be fetched (offline, URL gone); nothing was written under the root."""


# What a failed fetch raises: no network or DNS (URLError), HTTP errors (HTTPError is a URLError),
# a connection cut or stalled mid-file.
_NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


def data_root() -> Path:
    """``$INR_BENCH_DATA`` if set, else ``~/.cache/inr_bench/data``."""
    root = os.environ.get(ENV_VAR)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "inr_bench" / "data"


def get_dataset(name: str) -> Dataset:
    """The registered dataset ``name``; raises UnknownDatasetError listing the known names."""
    if name not in DATASETS:
        raise UnknownDatasetError(
            f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)} "
            "(`python -m inr_bench.data list` describes them)"
        )
    return DATASETS[name]


def _names(names: list[str]) -> str:
    """The names comma-separated, or only the first and the last of a long list."""
    names = names or ["none registered"]
    return f"{names[0]} ... {names[-1]}" if len(names) > 6 else ", ".join(names)


def fetch_hint(dataset: Dataset, root: Path | None) -> str:
    if dataset.manual:
        return f"{dataset.manual} (or set {ENV_VAR} to a folder that has {dataset.folder}/)"
    command = f"python -m inr_bench.data download {dataset.name}"
    if root is not None:  # an explicit root: the env var would not help, --root does
        return f"run `{command} --root {shlex.quote(str(root))}`"
    return f"run `{command}` (or set {ENV_VAR} to a folder that has {dataset.folder}/)"


def resolve(
    ref: str,
    key: str | None = None,
    kind: str | None = None,
    suffixes: Sequence[str] = (),
    root: Path | None = None,
) -> Path:
    """The path a config string names, by one rule, in this order:

    1. ``ref`` (``~`` expanded, relative to the working directory) exists: that path;
    2. else, if ``ref`` is relative and its first part is a registered dataset: that dataset's
       item under the data root (``kodak/kodim05``, suffix optional; ``kodak`` alone is the
       dataset folder), DatasetMissingError with the command that fetches it when absent;
    3. else UnknownReferenceError (a FileNotFoundError) naming both places looked in.

    ``key`` (e.g. "signal.image") prefixes every message. With ``kind`` (e.g. "mesh") the path
    must be a file, and with ``suffixes`` its name must end in one of them (case-insensitive);
    UserError otherwise. Names that only one signal knows (``builtin:torus``,
    ``skimage:astronaut``, ``synthetic``) are that signal's to handle before calling this."""
    what = f"{key}={ref}" if key else ref
    local = Path(ref).expanduser()
    if local.exists():
        path = local
    else:
        name, _, item = ref.strip("/").partition("/")
        if local.is_absolute() or name not in DATASETS:
            looked = f"no such file {local.absolute()}"
            if not local.is_absolute():  # it might have meant a dataset item
                looked += f", and {name!r} is not a dataset ({', '.join(DATASETS)})"
            raise UnknownReferenceError(f"{what}: {looked}")
        path = _dataset_path(DATASETS[name], item, f"{what}: neither {local.absolute()} nor", root)
    if kind is not None:
        _check_file(path, what, kind, suffixes)
    return path


def _dataset_path(dataset: Dataset, item: str, neither: str, root: Path | None) -> Path:
    """The dataset's folder (``item`` empty; complete only) or its file ``item``; ``neither``
    opens the message, naming the local path looked at first."""
    folder = (Path(root).expanduser() if root is not None else data_root()) / dataset.folder
    hint = fetch_hint(dataset, root)
    if not item:
        if folder.is_dir() and all((folder / f.name).is_file() for f in dataset.files):
            return folder
        raise DatasetMissingError(f"{neither} a complete {folder} exists: {hint}")
    entry = dataset.file(item)
    path = folder / (entry.name if entry else item)
    if path.is_file():
        return path
    if entry is None:  # not a registered name: maybe a typo, so list the real ones too
        names = _names([f.name.split(".")[0] for f in dataset.files])
        raise DatasetMissingError(f"{neither} {path} exists ({dataset.name} has {names}): {hint}")
    raise DatasetMissingError(f"{neither} {path} exists: {hint}")


def _check_file(path: Path, what: str, kind: str, suffixes: Sequence[str]) -> None:
    if path.is_dir():
        raise UserError(f"{what}: {path} is a folder; name one {kind} file in it")
    if suffixes and not path.name.lower().endswith(tuple(suffixes)):
        raise UserError(f"{what}: {path} is not a {kind} file (expected {', '.join(suffixes)})")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_intact(entry: RemoteFile, path: Path) -> bool:
    """Whether ``path`` exists and, where a checksum is registered, matches it or a known copy."""
    if not path.is_file():
        return False
    return entry.sha256 is None or _sha256(path) in (entry.sha256, *entry.also_accept)


def _write_atomic(
    source: IO[bytes], target: Path, expected: str | None, what: str, name: str
) -> None:
    """Stream ``source`` into a temp file beside ``target``, check its sha256, then rename, so a
    failed or interrupted download never leaves a partial or wrong file under the root."""
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if expected is not None and digest.hexdigest() != expected:
            raise ChecksumError(
                f"{what}: sha256 mismatch, expected {expected}, got {digest.hexdigest()}; nothing "
                f"was written. If the source changed on purpose, rerun with --no-verify "
                f"(`python -m inr_bench.data download {name} --no-verify`)"
            )
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


@contextlib.contextmanager
def _open_member(archive: Path, url: str, member: str) -> Iterator[IO[bytes]]:
    if url.endswith((".tar", ".tar.gz", ".tgz")):
        with tarfile.open(archive) as tar:
            names = {n.removeprefix("./"): n for n in tar.getnames()}
            source = tar.extractfile(names[member]) if member in names else None
            if source is None:
                raise RuntimeError(f"{url} has no file {member}; it has {sorted(names)[:10]}")
            yield source
    elif url.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            if member not in zipped.namelist():
                raise RuntimeError(f"{url} has no file {member}; it has {zipped.namelist()[:10]}")
            with zipped.open(member) as source:
                yield source
    elif url.endswith(".gz"):  # one gzipped file: `member` only documents its name
        with gzip.open(archive, "rb") as source:
            yield source
    else:
        raise RuntimeError(f"{url}: cannot extract, expected .zip, .tar, .tar.gz or .gz")


def _fetch(url: str, target: Path, expected: str | None, name: str, hint: str) -> None:
    log.info("fetching %s -> %s", url, target)
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            _write_atomic(response, target, expected, url, name)
    except _NETWORK_ERRORS as err:
        reason = getattr(err, "reason", None) or err
        raise DownloadError(f"could not download {name} from {url} ({reason}): {hint}") from err


def _offline_hint(dataset: Dataset, folder: Path, root: Path | None) -> str:
    """What to do when the network is not there: the files by hand, or a root that has them."""
    other = "--root" if root is not None else ENV_VAR
    return (
        f"nothing was written. Without network access, copy its files "
        f"({_names([f.name for f in dataset.files])}) into {folder}/, or set {other} to a data "
        f"root that already has {dataset.folder}/"
    )


def _missing_parents(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, deepest first."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    return missing


def _move_into(staging: Path, folder: Path) -> None:
    """Put the fetched files in place: the whole folder at once when it is new."""
    if not folder.exists():
        os.replace(staging, folder)
        return
    for path in staging.iterdir():
        os.replace(path, folder / path.name)


def download(name: str, root: Path | None = None, verify: bool = True, force: bool = False) -> Path:
    """Fetch dataset ``name`` into ``<root>/<folder>`` and return that folder. Files already
    present with a matching checksum are skipped unless ``force``; ``verify=False`` accepts
    bytes whose sha256 differs from the registered one. Everything is fetched into a temporary
    folder beside it and moved into place once all of it arrived, so a failed download leaves
    the root as it was (no empty or partial folder); DownloadError says what to do offline."""
    dataset = get_dataset(name)
    base = Path(root).expanduser() if root is not None else data_root()
    folder = base / dataset.folder
    if dataset.manual:
        raise RuntimeError(f"{dataset.name} cannot be downloaded automatically: {dataset.manual}")

    def wanted(entry: RemoteFile) -> bool:
        path = folder / entry.name
        return force or not (is_intact(entry, path) if verify else path.is_file())

    files = [e for e in dataset.files if e.url is not None and wanted(e)]
    archives = [
        (archive, [dataset.file(target) or RemoteFile(target) for _, target in archive.members])
        for archive in dataset.archives
    ]
    archives = [(archive, entries) for archive, entries in archives if any(map(wanted, entries))]
    if not files and not archives:
        return folder
    hint = _offline_hint(dataset, folder, root)
    created = _missing_parents(base)
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=base, prefix=f".{dataset.folder}.", suffix=".download"))
    done = False
    try:
        for entry in files:
            _fetch(entry.url, staging / entry.name, entry.sha256 if verify else None, name, hint)
        for archive, entries in archives:
            _fetch_archive(archive, entries, staging, verify, name, hint)
        _move_into(staging, folder)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        for path in [] if done else created:  # the data root too, when this call made it
            with contextlib.suppress(OSError):
                path.rmdir()  # only if empty, which it is unless someone else wrote there
    return folder


def _fetch_archive(
    archive: Archive, entries: list[RemoteFile], staging: Path, verify: bool, name: str, hint: str
) -> None:
    """Download ``archive`` into ``staging`` and extract its registered members beside it."""
    temp = staging / f".{archive.url.rsplit('/', 1)[-1]}.archive"
    try:
        _fetch(archive.url, temp, archive.sha256 if verify else None, name, hint)
        for (member, _), entry in zip(archive.members, entries, strict=True):
            with _open_member(temp, archive.url, member) as source:
                (staging / entry.name).parent.mkdir(parents=True, exist_ok=True)  # scene/train/
                expected = entry.sha256 if verify else None
                _write_atomic(
                    source, staging / entry.name, expected, f"{archive.url}:{member}", name
                )
    finally:
        temp.unlink(missing_ok=True)


def _status(dataset: Dataset, folder: Path) -> tuple[str, int]:
    """("present" / "missing" / "partial k/n", bytes on disk) of a dataset folder."""
    if not dataset.files:  # unregistered contents (scalarflow): any file counts
        paths = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
        return ("present" if paths else "missing"), sum(p.stat().st_size for p in paths)
    paths = [folder / f.name for f in dataset.files if (folder / f.name).is_file()]
    size = sum(p.stat().st_size for p in paths)
    if len(paths) == len(dataset.files):
        return "present", size
    return (f"partial {len(paths)}/{len(dataset.files)}" if paths else "missing"), size


def _print_list(root: Path) -> None:
    print(f"data root: {root}")
    print(f"{'name':<12} {'folder':<13} {'status':<13} {'size':<9} licence")
    for dataset in DATASETS.values():
        status, size = _status(dataset, root / dataset.folder)
        shown = f"{size / 1e6:.1f} MB" if size else f"~{dataset.size}"
        folder = dataset.folder + "/"
        print(f"{dataset.name:<12} {folder:<13} {status:<13} {shown:<9} {dataset.licence}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m inr_bench.data", description=__doc__.split("\n")[0]
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--root", type=Path, help=f"data root (default: ${ENV_VAR} or ~/.cache/inr_bench/data)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", parents=[common], help="datasets, and which are under the root")
    fetch = commands.add_parser("download", parents=[common], help="fetch a dataset into the root")
    fetch.add_argument("name", help=f"one of: {', '.join(DATASETS)}")
    fetch.add_argument("--no-verify", action="store_true", help="accept a sha256 mismatch")
    fetch.add_argument("--force", action="store_true", help="fetch files already present too")
    path = commands.add_parser("path", parents=[common], help="print the file a reference names")
    path.add_argument("ref", help='e.g. "kodak/kodim05", "div2k/00", "audio/bach"')
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "list":
            _print_list(args.root.expanduser() if args.root else data_root())
        elif args.command == "download":
            print(download(args.name, args.root, verify=not args.no_verify, force=args.force))
        else:
            print(resolve(args.ref, root=args.root))
    except (OSError, ValueError, RuntimeError) as err:  # missing, unknown, checksum, network
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
