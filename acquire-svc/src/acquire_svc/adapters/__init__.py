"""I/O of acquire-svc: KV buckets, files on disk, audio probing and tagging, cover fetching."""
