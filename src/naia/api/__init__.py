"""HTTP API (FastAPI): the seed's endpoints, envelope and field names."""
