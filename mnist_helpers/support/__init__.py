"""Machinery the learner's path relies on but need not read.

Files written all-or-nothing, paths, input-file checks, the IDX format, progress bars, mixed
precision, the CUDA-graph training step and notebook kernels on socket files.
"""
