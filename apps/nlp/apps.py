from django.apps import AppConfig


class NlpConfig(AppConfig):
    name = "apps.nlp"
    label = "nlp"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Bind shared_task to SignalFlow's Celery app in every Django process that sends tasks.
        import celery_app  # noqa: F401
