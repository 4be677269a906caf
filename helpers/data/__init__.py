"""The DACON-format dataset, no torch: its layout, reading it, splitting it, building one, looking at it.

layout (folder names and sizes), dacon (which dataset, its CSVs, pairs, the lost region),
splits (notebook 02), damage (the competition's lost regions), photos and synthetic (a
DACON-format dataset from colour photos), explore (statistics for notebook 01), viz (grids).
"""
