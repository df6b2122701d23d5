"""The built-in OpenSubsonic API (plain ASGI, served by uvicorn)."""
