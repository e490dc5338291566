"""Live sources: one asyncio task per watched source, run by apps.ingest.supervisor."""
