"""*chaos*: answers CH-class TXT queries for the server's version, authors and hostname."""
