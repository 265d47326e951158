"""*metadata*: lets plugins label each query for other plugins to read (CoreDNS's contract)."""
