"""HTTP routes of the API app (REST under /api/v1/, tokens, schema, dashboard)."""

urlpatterns: list = []
