"""Training, one way in: `helpers.training.launch.train(stage, config, ...)` for stage "mask",
"inpainter" or "gan" (notebooks 03-05, scripts and tests alike), in one process or under torchrun.

loop (run folder, resume, epochs, checkpoints, TensorBoard: what every stage shares), mask,
inpainter and gan (the stages), datasets and data_cache (what the loader reads), losses,
checkpoints (epoch files), run_lock (one trainer per run folder).
"""
