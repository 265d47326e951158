"""Moved to :mod:`twisted_dns.pkg.http` (shared by health, ready and prometheus); kept for
the imports that still name this module."""

from twisted_dns.pkg.http import Answer, HTTPEndpoint, port_number, split_host_port

__all__ = ["Answer", "HTTPEndpoint", "port_number", "split_host_port"]
