"""*reload*: reload the configuration when the Corefile or a file it imports changes."""

from twisted_dns.plugins.reload.reload import Watcher, digest

__all__ = ["Watcher", "digest"]
