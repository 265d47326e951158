"""The *secondary* plugin: zones transferred in from a primary, kept fresh by its SOA."""
