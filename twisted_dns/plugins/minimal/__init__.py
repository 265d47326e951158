"""*minimal*: positive replies carry only their answer section (CoreDNS's ``minimal``)."""
