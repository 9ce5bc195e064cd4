"""Benchmarks of the shop backend (`make bench`); figures go to bench/RESULTS.md."""
