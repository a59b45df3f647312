"""Profiles, identifiers, derived facts, the matching engines and their explanations. Pure."""
