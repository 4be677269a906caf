"""Shared logic of the photo-restoration notebook series (DACON 236420 format).

Data and score:
    images         read / validate / write images (clear errors naming the file, a pixel limit)
    files          atomic writes, cleaning a killed writer's leftovers, separate folders
    dacon_data     the competition's folder layout: CSVs, paths, lost-region masks
    damage         the lost-region shapes and fill values of the competition's inputs
    sample_data    builds a DACON-format dataset from the embedded photos
    splits         the source-aware train / validation split and reading it back
    explore        damage and colour statistics measured from the images (notebook 01)
    metrics        the exact DACON score (S, M, C)
    score          command line: score a folder of predictions
    submission     the submission zip and its validation
    viz            picture grids for notebooks and the README
    tables         result tables as markdown
Settings and files:
    config         one typed config per notebook stage: every setting and its default
    recipes        the named parameter files (recipes, CPU budgets) under notebooks/params/
    pipeline_file  the trained-pipeline file format: one save, one load
    checkpoints    where runs live, atomic saves, resuming past bad files, safe loading
    run_lock       one trainer per run folder
    runtime        Colab, Kaggle or local: where the data, runs and work files are; data staging
Networks and training:
    models         the smp U-Nets and the PatchGAN discriminator, encoder weights
    devices        the device, mixed precision, loader workers, DDP ranks
    launch         training in one process or several (DDP through torchrun), scripts and notebooks
    torch_data     the PyTorch datasets (input, truth, mask; damaged crops for the inpainter)
    data_cache     decoded, resized training images cached once on local disk (memory-mapped)
    training       the training skeleton every network shares (resume, loop, checkpoints)
    mask_training  the mask model's stage (notebook 03)
    inpainter_training  the learned inpainter's stage (notebook 04)
    gan_training   the generator's stage, pix2pix (notebook 05)
    chroma_bins    colour as a classification over quantised chroma (Zhang et al. 2016)
    hue            a differentiable hue histogram (the score's C made soft)
Inference:
    tensors        uint8 images to network tensors and back, at the network's scale
    tiling         a network on any image size, in overlapping tiles
    masking        finding the lost region: probability, threshold, snapping
    inpaint        OpenCV Telea inpainting
    colour         output recipes: RGB, or YCbCr keeping the known luminance
    onnx_backend   the networks run by ONNX Runtime (the fast CPU path)
    restore        the pipeline on an image or a batch (Restorer)
    predict        command line: restore a folder
    pretrained     the shipped model and exporting a run as one
    app            the web demo (Gradio): upload, restore, compare
Experiments:
    sweep          a notebook run once per point of a grid (papermill) and the leaderboard
"""
from pathlib import Path

__version__ = "0.2.0"

REPO_ROOT = Path(__file__).resolve().parents[1]
PHOTOS_DIR = REPO_ROOT / "data" / "photos"
EXTRA_PHOTOS_DIR = REPO_ROOT / "data" / "photos_extra"  # training-only photos
SAMPLE_DIR = REPO_ROOT / "data" / "sample"
