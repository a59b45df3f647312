"""The synthetic population: households, members and enterprises with valid identifiers.

Deterministic for a seed and generated in columnar chunks (`matcher.vector.frames`); used by
`zhida demo`, `zhida demo-data`, the tests and the benchmarks. Never used to decide anything.
"""
