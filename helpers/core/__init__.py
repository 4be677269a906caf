"""Shared ground, no torch: settings, files and images, and where things live on each platform.

config (every setting and its default), recipes (named parameter files), runtime (Colab,
Kaggle or local: data, work and runs folders), runs (one folder per training run), files
(atomic writes, separate folders), images (reading and writing with clear errors), tables.
"""
