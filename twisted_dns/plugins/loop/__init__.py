"""*loop*: detect a forwarding loop at start up and stop the server (CoreDNS's ``loop``)."""
