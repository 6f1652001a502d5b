"""Numba kernels: pure functions over arrays and scalars (no Python objects).

Kernels write into caller-allocated arrays and never validate their inputs; the engine
and the wrappers in :mod:`adcore.kernels` guarantee shapes and dtypes. Importing this
package compiles nothing.
"""
