"""Benchmarks behind ``make bench``: throughput, whole sessions in rooms, synthetic speech."""
