"""Kafka bus. Topic names live in signalflow/kafka.py (TOPICS); this file holds connection knobs."""

from .env import env_int, env_str

KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# Namespaces every topic and consumer group; empty in production, unique per test run.
KAFKA_TOPIC_PREFIX = env_str("KAFKA_TOPIC_PREFIX", "")
KAFKA_SIGNALS_PARTITIONS = env_int("KAFKA_SIGNALS_PARTITIONS", 3)
KAFKA_COMPRESSION = env_str("KAFKA_COMPRESSION", "snappy")
