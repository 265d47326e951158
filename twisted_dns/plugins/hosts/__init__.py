"""*hosts*: A, AAAA and PTR answers from an ``/etc/hosts`` style file and inline entries."""
