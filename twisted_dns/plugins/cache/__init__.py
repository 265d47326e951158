"""*cache*: a frontend cache of whole replies, kept and replayed as wire bytes."""
