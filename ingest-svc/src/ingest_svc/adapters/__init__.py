"""I/O of ingest-svc: external APIs over HTTP and JetStream KV buckets."""
