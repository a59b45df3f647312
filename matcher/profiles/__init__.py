"""Profiles and identifiers: raw profile → validated shape → the flat facts every engine reads."""
