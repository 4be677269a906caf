"""Restore your photo in the browser: a Gradio page over the trained pipeline, offline.

    python -m helpers.app [--run RUN_DIR_OR_FILE] [--host 127.0.0.1] [--port 7860] [--share]

Upload one or several photos (gray or colour: colour and other modes are converted to
8-bit gray first, phone photos turned upright, and the page says so) or pick a sample;
the page shows
each input, the lost region it found (overlaid in red) and the restoration side by
side, and offers the restored PNGs for download. The mask threshold and flip TTA can be
changed. A file that cannot be used gets a message on the page, never a stack trace or a path on
the server. Anyone with the link (--share, Colab) can send work, so each request is
bounded: photos up to APP_MAX_PIXELS (checked from the header before decoding; larger
scans go through helpers.predict), at most APP_MAX_FILES of them, and no new photo is
started after APP_TIME_LIMIT seconds; two requests run at once, so one heavy request does
not hold up the next user. The restored PNGs live in a folder of the app's own, one
subfolder per request, deleted after an hour and when the app stops.
With no --run it uses the shipped model (helpers.pipeline.shipped), like helpers.pipeline.folder.
Notebook 06 launches it with `LAUNCH_APP` (a public share link in Colab).
"""
from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from helpers import PHOTOS_DIR, SAMPLE_DIR
from helpers.core.files import sigterm_exits
from helpers.core.images import ImageFileError, header_pixels, save_png
from helpers.pipeline.folder import read_input
from helpers.pipeline.restore import Restorer
from helpers.pipeline.shipped import default_run

OVERLAY = np.array([230, 40, 40], np.float32)  # the lost region's tint
APP_MAX_PIXELS = 24_000_000  # a 6000 x 4000 photo: 26 s a request on 2 cores, 42 s for a black scan (docs/restoring.md)
APP_MAX_FILES = 8
APP_TIME_LIMIT = 120  # seconds after which a request starts no new photo
CONCURRENT_REQUESTS = 2
KEEP_RESULTS = 3600  # seconds a request's restored PNGs stay downloadable


def overlay(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The gray image in RGB with the lost region tinted red (half transparent)."""
    rgb = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    rgb[mask] = 0.5 * rgb[mask] + 0.5 * OVERLAY
    return rgb.round().astype(np.uint8)


def restore_one(restorer: Restorer, path: Path, threshold: float, tta: bool, out_dir: Path):
    """(gallery items, restored PNG path, notes) for one uploaded file; ImageFileError when unusable."""
    if (pixels := header_pixels(path)) > APP_MAX_PIXELS:
        raise ImageFileError(path, f"{pixels / 1e6:.0f} megapixels is over this page's limit of "
                                   f"{APP_MAX_PIXELS / 1e6:.0f}; restore it with python -m helpers.predict")
    image = read_input(path, convert=True)
    notes = image.notes + ([] if image.mode == "L" else [f"converted from {image.mode} to 8-bit gray"])
    gray = image.gray
    rgb, mask = restorer.restore(gray, threshold, tta)
    out = save_png(rgb, out_dir / f"{path.stem}_restored.png")
    h, w = gray.shape
    items = [(gray, f"{path.name}: input ({w}x{h})"),
             (overlay(gray, mask), f"lost region found: {mask.mean():.1%} of the image"),
             (rgb, "restored")]
    return items, out, notes


def _public(text: str, path: Path) -> str:
    """A message without the server's folders in it (an upload's temporary path becomes its name)."""
    return text.replace(str(path), path.name).replace(str(path.parent), "")


def restore_files(restorer: Restorer, files, threshold: float, tta: bool, out_dir: Path,
                  time_limit: float = APP_TIME_LIMIT):
    """What the page shows for a batch of uploads: (gallery, download paths, message in markdown).
    At most APP_MAX_FILES photos, and none started after `time_limit` seconds."""
    gallery, downloads, lines = [], [], []
    start, files = time.monotonic(), list(files or [])
    for i, f in enumerate(files):
        path = Path(getattr(f, "name", f))
        name = path.name
        if i >= APP_MAX_FILES or time.monotonic() - start > time_limit:
            why = (f"at most {APP_MAX_FILES} photos per request" if i >= APP_MAX_FILES
                   else f"this request's time limit ({time_limit:.0f} s) was reached")
            lines.append(f"- **{len(files) - i} more photo(s)** not restored: {why}; send them again")
            break
        try:
            items, out, notes = restore_one(restorer, path, threshold, tta, out_dir)
        except ImageFileError as e:
            lines.append(f"- **{name}**: not restored: {_public(e.problem, path)}")
            continue
        except Exception as e:  # noqa: BLE001 (one bad file is a message, not a crashed page)
            lines.append(f"- **{name}**: not restored ({type(e).__name__}: {_public(str(e), path)})")
            continue
        gallery += items
        downloads.append(str(out))
        lines.append(f"- **{name}**: restored" + (f" ({'; '.join(notes)})" if notes else ""))
    if not files:
        lines.append("Upload one or more photos (or pick a sample) first.")
    return gallery, downloads, "\n".join(lines)


def request_folder(results: Path, keep: float = KEEP_RESULTS) -> Path:
    """A new folder for one request's PNGs (two users' photo.png never meet); those of requests
    older than `keep` seconds are deleted first, so the disk used stays bounded."""
    for old in results.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > keep:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=results))


def samples(limit: int = 3) -> list[str]:
    """Sample inputs to try: damaged test inputs of the sample dataset, else embedded colour photos."""
    found = sorted((SAMPLE_DIR / "test_input").glob("*.png"))[:limit]
    return [str(p) for p in (found or sorted(PHOTOS_DIR.glob("*.jpg"))[:limit])]


def build(restorer: Restorer, results: Path):
    """The Gradio page (a gr.Blocks) over one restorer; restored PNGs go under `results`."""
    import gradio as gr

    def run(files, threshold, tta):
        try:
            return restore_files(restorer, files, threshold, tta, request_folder(results))
        except Exception as e:  # noqa: BLE001
            return [], [], f"Something went wrong: {type(e).__name__}"

    # delete_cache: Gradio's copies of uploads and results go after an hour, and all when it stops
    with gr.Blocks(title="Restore a damaged black-and-white photo", delete_cache=(600, KEEP_RESULTS)) as page:
        gr.Markdown("# Restore a damaged black-and-white photo\n"
                    f"Upload up to {APP_MAX_FILES} photos of up to {APP_MAX_PIXELS / 1e6:.0f} megapixels (colour ones "
                    "are turned gray first) or pick a sample. The lost region is found, filled and the whole picture "
                    f"colourised.\n\nModel: `{restorer.describe()}`")
        with gr.Row():
            with gr.Column(scale=1):
                files = gr.File(label="photos", file_count="multiple", file_types=["image"], elem_id="photos")
                threshold = gr.Slider(0.05, 0.95, value=restorer.mask_spec.threshold, step=0.05,
                                      label="lost-region threshold", elem_id="threshold")
                tta = gr.Checkbox(value=restorer.tta, label="flip test-time augmentation", elem_id="tta")
                button = gr.Button("Restore", variant="primary", elem_id="restore")
                gr.Examples([[[p]] for p in samples()], inputs=[files], label="samples")
            with gr.Column(scale=2):
                message = gr.Markdown(elem_id="message")
                gallery = gr.Gallery(label="input | lost region found | restored", columns=3, format="png",
                                     elem_id="gallery")
                downloads = gr.File(label="restored PNGs", file_count="multiple", elem_id="downloads")
        button.click(run, inputs=[files, threshold, tta], outputs=[gallery, downloads, message],
                     concurrency_limit=CONCURRENT_REQUESTS)
    return page


def launch(restorer: Restorer, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True):
    """Serve the page (share=True: a public *.gradio.live link, as in Colab). With block, the
    restored PNGs are deleted when the server stops; otherwise when the process ends."""
    results = Path(tempfile.mkdtemp(prefix="restore-app-"))
    atexit.register(shutil.rmtree, results, ignore_errors=True)
    page = build(restorer, results)
    try:
        page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block, quiet=True)
    finally:
        if block:
            shutil.rmtree(results, ignore_errors=True)
    return page


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.app", description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", default=None, help=f"trained pipeline (default: {default_run()})")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=7860)
    ap.add_argument("--share", action="store_true", help="also a public gradio.live link")
    args = ap.parse_args(argv)
    try:
        restorer = Restorer.load(args.run or default_run())
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{restorer.describe()}\nserving on http://{args.host}:{args.port}", flush=True)
    with sigterm_exits():  # a stopped server still deletes the restored PNGs
        launch(restorer, args.host, args.port, args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
