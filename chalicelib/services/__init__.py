"""Use cases: each service validates requests, asks the domain, and stores through adapters."""
