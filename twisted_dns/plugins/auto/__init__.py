"""*auto*: serves every zone file found in a directory, picking up new, changed and removed ones."""
