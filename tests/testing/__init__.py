"""Tests of the test kit itself (``twisted_dns.testing``)."""
