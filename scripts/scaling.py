"""Scaling curves: validation score against training time, one resumable run per design.

    python scripts/scaling.py [--designs NAME,...] [--hours 0.25,0.5,1,2] [--root runs/scaling]
                              [--from drive_checkpoints] [--doc docs/scaling.md] [--report]

Each design is a training stage with settings of its own (DESIGNS): the colouriser (notebook
05's stage on the project's recipe, validated with the whole pipeline and predicted masks: the
DACON score) or the learned inpainter (notebook 04's, validated with the score's M on the
luminance of the true regions), trained on the sample dataset's training split and validated
after every epoch on its whole validation split. A design trains one epoch at a time,
resuming its run, until its cumulative time (training and validation, on this machine) passes
each budget in turn, every design before the next budget (the table is rewritten after each); a later call with more hours, or after a killed session, continues it
where it stopped (each epoch is checkpointed). The curve at a budget is the mean of the last
LAST epochs finished within it, since C swings by several hundredths from epoch to epoch.
Needs the sample dataset with its split and notebook 03's and 04's runs (`make run`), copied
from --from into --root once. Writes scaling.md, scaling.json and scaling.png under --root
(and the table, its JSON and the plot beside --doc). Runs do not outlive a machine, the table
does: a design with no run under --root keeps the rows that --doc's JSON holds for it.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pandas as pd

from helpers import REPO_ROOT
from helpers.core import recipes
from helpers.core.files import atomic_write
from helpers.core.tables import to_markdown
from helpers.training.launch import train

# name -> (stage, settings on top of the stage's base)
DESIGNS = {
    # the first three fine-tune the encoder, as the project's recipe did before they were measured
    "generator at 128 px (v2's)": ("gan", dict(image_size=128, freeze_encoder=False)),
    "generator at 64 px (chroma small; luma kept at full size)": ("gan", dict(image_size=64, freeze_encoder=False)),
    "generator at 256 px": ("gan", dict(image_size=256, freeze_encoder=False)),
    # v2's design again after the encoder's input range was corrected (models.take_unit_range),
    # as the frozen designs below have it: the control for what freezing alone is worth
    "generator at 128 px fine-tuned from the range-corrected encoder": ("gan", dict(image_size=128, freeze_encoder=False)),
    "generator at 128 px on a frozen ImageNet encoder": ("gan", dict(image_size=128, freeze_encoder=True)),
    "generator at 128 px on a frozen encoder without a discriminator": ("gan", dict(
        image_size=128, freeze_encoder=True, adv_weight=0.0)),
    "generator at 128 px on a frozen encoder with new crops each epoch": ("gan", dict(
        image_size=128, freeze_encoder=True, photo_crops=318)),  # as many as the split's training images
    # the two designs above that still rose at their last budget, together
    "generator at 128 px on a frozen encoder with new crops each epoch and no discriminator": ("gan", dict(
        image_size=128, freeze_encoder=True, photo_crops=318, adv_weight=0.0)),
    "inpainter on 256 px crops (v2's)": ("inpainter", dict(crop_size=256, decay_epochs=48)),
    "inpainter on 256 px crops with the extra photos": ("inpainter", dict(
        crop_size=256, decay_epochs=48, extra_photos=str(REPO_ROOT / "data" / "photos_extra"))),
    "inpainter on 384 px crops (more context)": ("inpainter", dict(crop_size=384, decay_epochs=22)),
}
# The inpainter's learning rate decays (the generator's is constant): each of its designs decays
# over about the epochs that 2 hours hold on 2 CPU cores (decay_epochs, measured from the first
# epochs: 256 px crops about 150 s an epoch, 384 px about 2.2 times the network's work), so
# its points before 2 h are taken mid-decay, like every curve read from one run.
RUNS = dict(val_limit=0, num_workers=1, checkpoint_every=1, keep_checkpoints=1)


def stage_base(stage: str) -> dict:
    """What every design of a stage starts from: the project's recipe (colouriser) and the CPU budget."""
    if stage == "gan":
        return {**recipes.recipe("project"), **RUNS, "batch_size": 8, "inpainter_run": "inpainter"}
    return {**recipes.cpu_budget("04_inpainter"), **RUNS, "samples_per_epoch": 480}


# score_photos and C_photos: over the validation images of everyday photos alone, the kind the sample
# test split holds (helpers.training.gan.by_kind; runs before they were recorded have none)
METRICS = {"gan": ("score", "S", "M", "C", "hue_err", "score_photos", "C_photos"),
           "inpainter": ("M", "M_telea", "val_l1")}
HEADLINE = {"gan": "score", "inpainter": "M"}
LAST = 3


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.split(" (")[0]).strip("-").lower()


def history(root: Path, name: str) -> pd.DataFrame:
    path = root / slug(name) / "history.csv"
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["epoch", "seconds"])


def train_until(name: str, hours: float, root: Path, data=None, progress: bool = False,
                base: dict | None = None) -> pd.DataFrame:
    """Train design `name` (resuming its run) until its cumulative time passes `hours`: one epoch
    first, then as many as the epochs so far say fit in what is left (at least one per call).
    base: the settings under the design's (default: `stage_base(stage)`)."""
    stage, settings = DESIGNS[name]
    cfg = {**(stage_base(stage) if base is None else base), **settings, "run": slug(name)}
    while (left := hours * 3600 - (done := history(root, name)).seconds.sum()) > 0:
        more = 1 if done.empty else max(1, int(left // done.seconds.mean()))
        train(stage, {**cfg, "epochs": len(done) + more}, data, root, progress=progress)
    return history(root, name)


def curve(hist: pd.DataFrame, hours: list[float], metrics=METRICS["gan"]) -> list[dict]:
    """The design's validation metrics at each budget it has reached (mean of the last LAST epochs
    within it); a budget the run has not trained up to yet has no row."""
    hist = hist.assign(hours=hist.seconds.cumsum() / 3600)
    rows = []
    for h in hours:
        within = hist[hist.hours <= h + 1e-9]
        if within.empty or hist.hours.max() < h - 1e-9:
            continue
        last = within.tail(LAST)
        rows.append({"hours": h, "epochs": int(within.epoch.max()),
                     **{k: float(last[k].mean()) for k in metrics if k in last and last[k].notna().all()}})
    return rows


def plot(curves: dict[str, list[dict]], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, NullLocator
    panels = [("gan", "score", "colouriser: validation score"), ("gan", "C", "colouriser: validation C"),
              ("inpainter", "M", "inpainter: validation M (luminance)")]
    colours = {name: plt.cm.tab20(i % 20) for i, name in enumerate(DESIGNS)}  # one colour a design, every panel
    hours = sorted({r["hours"] for rows in curves.values() for r in rows})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    for ax, (stage, key, title) in zip(axes, panels):
        for name, rows in curves.items():
            if DESIGNS[name][0] == stage and rows:
                ax.plot([r["hours"] for r in rows], [r[key] for r in rows], marker="o", color=colours[name], label=name)
        ax.set(xscale="log", xlabel="training hours (2 CPU cores)", title=title)
        ax.xaxis.set_major_locator(FixedLocator(hours))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticklabels([f"{h:g}" for h in hours])
    handles = {label: h for ax in axes for h, label in zip(*ax.get_legend_handles_labels())}
    if handles:  # below the panels, where it hides no curve
        fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.04 * (len(handles) + 1) / 2, 1, 1))
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=90))
    plt.close(fig)


def report(curves: dict[str, list[dict]], root: Path, doc: Path | None) -> str:
    md = (f"Validation metrics against training time (scripts/scaling.py; mean of the last {LAST} epochs "
          "within each budget; hours of training and validation on 2 CPU cores).\n")
    for stage, what in (("gan", "Colouriser"), ("inpainter", "Inpainter")):
        table = pd.DataFrame([{"design": n, **r} for n, rows in curves.items() for r in rows if DESIGNS[n][0] == stage])
        if not table.empty:
            md += f"\n{what}:\n\n" + to_markdown(table.round(4)) + "\n"
    targets = [root] + ([doc.parent] if doc else [])
    for folder in targets:
        name = doc.stem if doc and folder == doc.parent else "scaling"
        atomic_write(folder / f"{name}.md", lambda tmp: Path(tmp).write_text(md))
        atomic_write(folder / f"{name}.json", lambda tmp: Path(tmp).write_text(json.dumps(curves, indent=2) + "\n"))
        plot(curves, folder / f"{name}.png")
    return md


def kept_curves(doc: Path | None) -> dict[str, list[dict]]:
    """The curves an earlier table recorded (--doc's JSON beside it), for designs still in DESIGNS."""
    path = doc.with_suffix(".json") if doc else None
    if path is None or not path.is_file():
        return {}
    return {name: rows for name, rows in json.loads(path.read_text()).items() if name in DESIGNS}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--designs", default=",".join(DESIGNS), help="comma-separated names from DESIGNS (none holds a comma)")
    ap.add_argument("--hours", default="0.25,0.5,1,2", help="budgets, comma-separated")
    ap.add_argument("--root", default=str(REPO_ROOT / "runs" / "scaling"))
    ap.add_argument("--from", dest="source", default=str(REPO_ROOT / "drive_checkpoints"),
                    help="where notebook 03's and 04's runs (mask, inpainter) are")
    ap.add_argument("--doc", default=None, help="also write the table and plot here (docs/scaling.md)")
    ap.add_argument("--report", action="store_true", help="only rewrite the table and plot from the runs so far")
    args = ap.parse_args(argv)
    names = [n.strip() for n in args.designs.split(",") if n.strip()]
    unknown = [n for n in names if n not in DESIGNS]
    if unknown:
        ap.error(f"unknown design(s) {unknown}; known: {list(DESIGNS)}")
    hours = sorted(float(h) for h in args.hours.split(","))
    root = Path(args.root)
    for run in ("mask", "inpainter"):
        if not (root / run / "best.pt").is_file():
            if not (Path(args.source) / run / "best.pt").is_file():
                ap.error(f"{Path(args.source) / run}: no finished run; run `make run` (notebooks 03 and 04) first")
            shutil.copytree(Path(args.source) / run, root / run, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("run.lock"))
    doc = Path(args.doc) if args.doc else None

    def rewrite_table() -> None:
        print(report(curves_so_far(root, hours, kept_curves(doc)), root, doc), flush=True)
    for h in [] if args.report else hours:  # every design to each budget in turn: a cut-short session still compares them
        for name in names:
            print(f"== {name}: up to {h} h", flush=True)
            train_until(name, h, root)
        rewrite_table()
    if args.report:
        rewrite_table()
    return 0


def curves_so_far(root: Path, hours: list[float], kept: dict[str, list[dict]] | None = None) -> dict[str, list[dict]]:
    """Every design that has a run, not only today's, and the kept rows of designs without one
    here (an earlier machine's): the table and plot keep the earlier curves."""
    curves = dict(kept or {})
    for name in DESIGNS:
        hist = history(root, name)  # read once
        if not hist.empty:
            curves[name] = curve(hist, hours, METRICS[DESIGNS[name][0]])
    return {name: curves[name] for name in DESIGNS if name in curves}


if __name__ == "__main__":
    raise SystemExit(main())
