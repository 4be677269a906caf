"""Select, resize and credit the embedded sample photos (data/photos/).

Re-runnable: it fetches each source package into a cache folder, copies the
chosen files, resizes them to at most 1024 px on the long side, saves JPEG
quality 90 and rewrites data/photos/CREDITS.md. Only maintainers run it (it
needs the Debian and PyPI registries); everyone else uses the committed photos.

    python scripts/select_photos.py [--cache /tmp/photo-sources] [--out data/photos]

The list below was chosen by eye from every colour image in those packages:
real colour photographs only (no diagrams, screenshots, renders, cartoons,
paintings, microscopy, grayscale images, images with drawn overlays), one image
per scene (stereo pairs and edited copies left out), permissive licences only
(the two GFDL photos of palapeli-data are left out).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import zipfile
from pathlib import Path

from PIL import Image, ImageOps

# (source id, path inside the unpacked source, licence)
OPENCV = "debian:opencv-doc=4.6.0+dfsg-12"
OPENCV_LIC = "Apache-2.0 AND BSD-3-Clause (Debian copyright of opencv-doc, 'Files: *')"
EX = "usr/share/doc/opencv-doc/examples/"
HTML = "usr/share/doc/opencv-doc/opencv4/html/"
PALAPELI = "debian:palapeli-data=4:22.12.3-1"
PAL = "usr/share/palapeli/collection/"
SKIMAGE = "pypi:scikit-image==0.26.0"
SKI = "skimage/data/"
SKLEARN = "pypi:scikit-learn==1.6.1"
SKL = "sklearn/datasets/images/"
MPL = "pypi:matplotlib==3.11.2"

PHOTOS = [
    *[(OPENCV, EX + p, OPENCV_LIC) for p in [
        "alphamat/input_images/plant.jpg", "data/aero1.jpg", "data/aero3.jpg", "data/aloeL.jpg",
        "data/apple.jpg", "data/baboon.jpg", "data/board.jpg", "data/building.jpg",
        "data/butterfly.jpg", "data/chicky_512.png", "data/ela_original.jpg", "data/fruits.jpg",
        "data/graf1.png", "data/home.jpg", "data/left.jpg", "data/leuvenA.jpg", "data/messi5.jpg",
        "data/orange.jpg", "data/rubberwhale1.png", "data/smarties.png", "data/squirrel_cls.jpg",
        "data/stuff.jpg", "dnn_superres/butterfly.png", "reg/home.png",
        "hfs/data/000.jpg", "hfs/data/001.jpg", "hfs/data/002.jpg",
        "text/scenetext01.jpg", "text/scenetext02.jpg", "text/scenetext03.jpg",
        "text/scenetext04.jpg", "text/scenetext05.jpg", "text/scenetext06.jpg",
        "text/scenetext_segmented_word01.jpg", "text/scenetext_segmented_word02.jpg",
        "text/scenetext_segmented_word03.jpg", "text/scenetext_segmented_word04.jpg",
    ]],
    *[(OPENCV, HTML + p, OPENCV_LIC) for p in [
        "227943776_1.jpg", "230501201_1.jpg", "astra_color.jpg", "pexels_double_decker_bus.jpg",
        "space_shuttle.jpg", "retina_TreeHdr_small.jpg", "studentsSample_input.jpg",
    ]],
    (PALAPELI, PAL + "cincinnati-bridge.jpg", "Public Domain (Derek Jensen, Wikimedia Commons; per its .desktop file)"),
    (PALAPELI, PAL + "citrus-fruits.jpg", "Public Domain (per its .desktop file)"),
    (PALAPELI, PAL + "european-honey-bee.jpg", "Public Domain (per its .desktop file)"),
    (SKIMAGE, SKI + "astronaut.png", "Public Domain (NASA; skimage.data docstring)"),
    (SKIMAGE, SKI + "chelsea.png", "CC0 (Stefan van der Walt; skimage.data docstring)"),
    (SKIMAGE, SKI + "coffee.png", "CC0 (Rachel Michetti; skimage.data docstring)"),
    (SKIMAGE, SKI + "rocket.jpg", "Public Domain (SpaceX; skimage.data docstring)"),
    (SKLEARN, SKL + "china.jpg", "CC-BY-2.0 (danielbuechele on Flickr; sklearn images README)"),
    (SKLEARN, SKL + "flower.jpg", "CC-BY-2.0 (vultilion on Flickr; sklearn images README)"),
    (MPL, "matplotlib/mpl-data/sample_data/grace_hopper.jpg", "Public Domain (U.S. Navy photograph)"),
]

MAX_SIDE = 1024
QUALITY = 90


def fetch(source: str, cache: Path) -> Path:
    """Unpack a Debian package or a PyPI wheel into cache/<name> and return that folder."""
    kind, spec = source.split(":", 1)
    name, version = spec.split("=", 1) if kind == "debian" else spec.split("==", 1)
    root = cache / name
    if root.exists():
        return root
    dl = cache / "downloads"
    dl.mkdir(parents=True, exist_ok=True)
    if kind == "debian":
        subprocess.run(["apt-get", "download", f"{name}={version.lstrip('=')}"], cwd=dl, check=True)
        deb = next(dl.glob(f"{name}_*.deb"))
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    else:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                        "-d", str(dl), f"{name}=={version}"], check=True)
        wheel = next(dl.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(root)
    return root


def out_name(source: str, path: str) -> str:
    prefix = {"opencv-doc": "opencv", "palapeli-data": "palapeli", "scikit-image": "skimage",
              "scikit-learn": "sklearn", "matplotlib": "mpl"}[source.split(":")[1].split("=")[0]]
    stem = Path(path).stem
    if sum(Path(p).stem == stem for _, p, _ in PHOTOS) > 1:  # e.g. data/home.jpg and reg/home.png
        stem = f"{Path(path).parent.name}_{stem}"
    return f"{prefix}_{stem.lower().replace('-', '_')}.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/photo-sources"))
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "photos")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for source, path, licence in PHOTOS:
        src = fetch(source, args.cache) / path
        im = ImageOps.exif_transpose(Image.open(src)).convert("RGB")
        orig = im.size
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        name = out_name(source, path)
        im.save(args.out / name, quality=QUALITY)
        rows.append(f"| `{name}` | {im.size[0]}x{im.size[1]} (from {orig[0]}x{orig[1]}) "
                    f"| `{source}` | `{path}` | {licence} |")
    names = [r.split("`")[1] for r in rows]
    assert len(set(names)) == len(names), "two photos map to the same file name"
    credits = [
        "# Credits for the embedded sample photos",
        "",
        f"{len(rows)} colour photographs, resized to at most {MAX_SIDE} px on the long side and saved",
        f"as JPEG quality {QUALITY} by `scripts/select_photos.py` (re-run it to rebuild this folder).",
        "Source = the package they were taken from (Debian package or PyPI wheel, with version);",
        "path = the file inside that package; licence = as the package declares it.",
        "",
        "| file | size | source package | original path | licence |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    (args.out / "CREDITS.md").write_text("\n".join(credits))
    print(f"wrote {len(rows)} photos and CREDITS.md to {args.out}")


if __name__ == "__main__":
    main()
