"""*forward*: proxies queries to upstream resolvers over UDP, TCP or DNS over TLS."""
