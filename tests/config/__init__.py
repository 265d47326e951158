"""Tests of the configuration path (``twisted_dns.config``)."""
