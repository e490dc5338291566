"""Celery: JSON only, queues from apps/nlp/queues.py, beat from the database scheduler."""

from .env import env_bool, env_str
from .redis import REDIS_CELERY_URL

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_CELERY_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_CELERY_URL)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
# Prefix of every queue name; empty in production, unique per test run (settings/test.py).
SIGNALFLOW_QUEUE_PREFIX = env_str("SIGNALFLOW_QUEUE_PREFIX", "")
