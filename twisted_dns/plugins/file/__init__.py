"""*file*: serves zones from RFC 1035 master files (``zone.py`` is the model others reuse)."""
