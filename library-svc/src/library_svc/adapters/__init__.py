"""I/O of library-svc: the catalog database, files, tags, NATS KV, Navidrome."""
