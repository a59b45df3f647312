"""The audit log (hash-chained) and the publishing of catalogues it records."""
