"""The *transfer* plugin: zone transfers out (AXFR, IXFR as AXFR) and NOTIFY."""
