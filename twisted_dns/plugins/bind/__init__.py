"""*bind*: the addresses (or interfaces) a server block listens on."""
