"""Tests of the built-in plugins (``twisted_dns/plugins``), on the test kit
(:mod:`twisted_dns.testing`) as a third party's tests would be."""
