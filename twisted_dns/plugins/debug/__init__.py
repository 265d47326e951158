"""*debug*: full tracebacks for plugin errors and debug logging."""
