"""The sweep: stored profiles through the vectorised engine into entitlement intervals."""
