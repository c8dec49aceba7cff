"""Benchmarks (``make bench``): sourceqa against the stock llama-index pipeline, and scale."""
