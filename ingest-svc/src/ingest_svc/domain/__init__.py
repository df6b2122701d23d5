"""Pure rules of ingest-svc: no I/O, no environment, no clock reads."""
