"""The HTTP API: FastAPI over ComplaintService (create_app in api.app)."""
