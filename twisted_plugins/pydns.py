from twisted.application.service import ServiceMaker

pydns = ServiceMaker("twisted-dns", "twisted_dns.tap", "A CoreDNS-compatible DNS server", "pydns")
