"""The live dashboard (/dashboard/), served by Django."""

urlpatterns: list = []
