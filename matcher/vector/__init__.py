"""The vectorised engine: a population as columns, float64 proved equal to the exact result."""
