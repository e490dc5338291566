"""Local fake upstream servers that speak each platform's real protocol and serve recorded payloads,
so that the real client libraries (asyncpraw, atproto, httpx, google-api-python-client) run in tests.
"""
