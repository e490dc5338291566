"""SignalFlow Django project."""
