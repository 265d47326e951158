"""*template*: answers built per query from Go templates matched by regular expressions."""
