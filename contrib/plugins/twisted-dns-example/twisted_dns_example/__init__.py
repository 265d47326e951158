"""twisted-dns-example: the *echoname* plugin, a third-party twisted-dns plugin in miniature."""

__version__ = "0.1.0"
