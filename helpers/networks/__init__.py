"""The networks and where they run: smp U-Nets and the PatchGAN (models), devices and precision,
uint8 images to tensors (tensors), any image size in tiles (tiling), ONNX Runtime (onnx_backend),
safe model files on disk (torch_files).
"""
