"""I/O of resolve-svc: external APIs, the shared rate limiter and the response cache."""
