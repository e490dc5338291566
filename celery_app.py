"""The Celery application: `celery -A celery_app worker -Q gpu|cpu|default`, `celery -A celery_app beat`."""

import os

from celery import Celery
from kombu import Queue as KombuQueue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "signalflow.settings.local")

# First, before anything imports prometheus_client: it may switch a worker to multiprocess metrics.
from signalflow.celery_metrics import celery_metrics_connect
from signalflow.queues import Queue, queue_name

app = Celery("signalflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [KombuQueue(queue_name(queue), routing_key=queue_name(queue)) for queue in Queue]
app.conf.task_default_queue = queue_name(Queue.DEFAULT)
app.autodiscover_tasks()
celery_metrics_connect(app)

from apps.nlp.warmup import warmup_connect  # noqa: E402

warmup_connect(app)

from signalflow.beat import BEAT_SCHEDULE  # noqa: E402

app.conf.beat_schedule = BEAT_SCHEDULE
