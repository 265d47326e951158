"""The built-in plugins, one package each: ``setup.py`` (the directive), a handler, a README."""
