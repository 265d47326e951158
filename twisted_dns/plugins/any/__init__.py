"""*any*: a minimal answer to qtype ANY queries (RFC 8482)."""
