"""*root*: the directory where plugins look for relative file names (zone files, certs)."""
