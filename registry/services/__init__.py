"""Registry use cases: each takes a session first, flushes, and never commits."""
