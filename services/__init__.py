"""Use cases: take a session and plain values, raise domain errors, never commit."""
