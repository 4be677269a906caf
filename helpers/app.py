"""Restore your photo in the browser: a Gradio page over the trained pipeline, offline.

    python -m helpers.app [--run RUN_DIR_OR_FILE] [--host 127.0.0.1] [--port 7860] [--share]

Upload one or several photos (any size, gray or colour: colour and other modes are
converted to 8-bit gray first, and the page says so) or pick a sample; the page shows
each input, the lost region it found (overlaid in red) and the restoration side by
side, and offers the restored PNGs for download. The mask threshold and flip TTA can be
changed. A file that cannot be used gets a message on the page, never a stack trace.
With no --run it uses the shipped model (helpers.pipeline.shipped), like helpers.pipeline.folder.
Notebook 06 launches it with `LAUNCH_APP` (a public share link in Colab).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

from helpers import PHOTOS_DIR, SAMPLE_DIR
from helpers.core.images import ImageFileError, open_image, save_png, to_gray8
from helpers.pipeline.restore import Restorer
from helpers.pipeline.shipped import default_run

OVERLAY = np.array([230, 40, 40], np.float32)  # the lost region's tint


def overlay(gray: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The gray image in RGB with the lost region tinted red (half transparent)."""
    rgb = np.repeat(gray[..., None], 3, axis=2).astype(np.float32)
    rgb[mask] = 0.5 * rgb[mask] + 0.5 * OVERLAY
    return rgb.round().astype(np.uint8)


def restore_one(restorer: Restorer, path: Path, threshold: float, tta: bool, out_dir: Path):
    """(gallery items, restored PNG path, note) for one uploaded file; ImageFileError when unusable."""
    im = open_image(path)
    note = "" if im.mode == "L" else f"converted from {im.mode} to 8-bit gray"
    gray = to_gray8(im, path)
    rgb, mask = restorer.restore(gray, threshold, tta)
    out = save_png(rgb, out_dir / f"{path.stem}_restored.png")
    h, w = gray.shape
    items = [(gray, f"{path.name}: input ({w}x{h})"),
             (overlay(gray, mask), f"lost region found: {mask.mean():.1%} of the image"),
             (rgb, "restored")]
    return items, out, note


def restore_files(restorer: Restorer, files, threshold: float, tta: bool, out_dir: Path):
    """What the page shows for a batch of uploads: (gallery, download paths, message in markdown)."""
    gallery, downloads, lines = [], [], []
    for f in files or []:
        path = Path(getattr(f, "name", f))
        name = path.name
        try:
            items, out, note = restore_one(restorer, path, threshold, tta, out_dir)
        except ImageFileError as e:
            lines.append(f"- **{name}**: not restored: {e.problem}")
            continue
        except Exception as e:  # noqa: BLE001 (one bad file is a message, not a crashed page)
            lines.append(f"- **{name}**: not restored ({type(e).__name__}: {e})")
            continue
        gallery += items
        downloads.append(str(out))
        lines.append(f"- **{name}**: restored" + (f" ({note})" if note else ""))
    if not files:
        lines.append("Upload one or more photos (or pick a sample) first.")
    return gallery, downloads, "\n".join(lines)


def samples(limit: int = 3) -> list[str]:
    """Sample inputs to try: damaged test inputs of the sample dataset, else embedded colour photos."""
    found = sorted((SAMPLE_DIR / "test_input").glob("*.png"))[:limit]
    return [str(p) for p in (found or sorted(PHOTOS_DIR.glob("*.jpg"))[:limit])]


def build(restorer: Restorer):
    """The Gradio page (a gr.Blocks) over one restorer."""
    import gradio as gr

    out_dir = Path(tempfile.mkdtemp(prefix="restore-app-"))

    def run(files, threshold, tta):
        try:
            return restore_files(restorer, files, threshold, tta, out_dir)
        except Exception as e:  # noqa: BLE001
            return [], [], f"Something went wrong: {type(e).__name__}: {e}"

    with gr.Blocks(title="Restore a damaged black-and-white photo") as page:
        gr.Markdown("# Restore a damaged black-and-white photo\n"
                    "Upload photos (any size; colour ones are turned gray first) or pick a sample. "
                    "The lost region is found, filled and the whole picture colourised.\n\n"
                    f"Model: `{restorer.describe()}`")
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
        button.click(run, inputs=[files, threshold, tta], outputs=[gallery, downloads, message])
    return page


def launch(restorer: Restorer, host: str = "127.0.0.1", port: int = 7860, share: bool = False, block: bool = True):
    """Serve the page (share=True: a public *.gradio.live link, as in Colab)."""
    page = build(restorer)
    page.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block, quiet=True)
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
    launch(restorer, args.host, args.port, args.share)
    return 0


if __name__ == "__main__":
    sys.exit(main())
