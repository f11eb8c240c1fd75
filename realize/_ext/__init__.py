"""Compiled kernels (Cython, built by meson-python). Private: call the Python API instead."""
