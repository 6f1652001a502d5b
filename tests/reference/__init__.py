"""Naive references for adcore's kernels: plain Python loops, written from the docstrings."""
