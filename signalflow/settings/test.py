"""Test settings: the real services, namespaced so that concurrent runs never meet.

Each pytest process gets its own Kafka topic prefix and Celery queue prefix; child processes
started by tests inherit them through tests/support/services.subprocess_env().
"""

import os
import uuid

from .env import env_str
from .local import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

_RUN_ID = env_str("SIGNALFLOW_TEST_RUN_ID", "") or uuid.uuid4().hex[:8]
os.environ["SIGNALFLOW_TEST_RUN_ID"] = _RUN_ID
KAFKA_TOPIC_PREFIX = env_str("KAFKA_TOPIC_PREFIX", "") or f"test-{_RUN_ID}-"
SIGNALFLOW_QUEUE_PREFIX = env_str("SIGNALFLOW_QUEUE_PREFIX", "") or f"test-{_RUN_ID}-"
CACHES["default"]["KEY_PREFIX"] = f"sf-test-{_RUN_ID}"
