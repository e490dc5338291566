"""PostgreSQL primary and optional streaming replica (signalflow/db_router.py, docs/operations.md)."""

import dj_database_url

from .env import env_bool, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/signalflow")
# A hot standby of DATABASE_URL (streaming replication); unset: everything on the primary.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")
# Whether this process sends reads to the replica at all (false for workers that need fresh reads).
DATABASE_REPLICA_READS = env_bool("DATABASE_REPLICA_READS", True)

# A psycopg connection pool per process. Under Daphne, Django's persistent connections are not reused
# across requests (each request opened a new connection), so the web process turns this on.
DATABASE_POOL = env_bool("DATABASE_POOL", False)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 10)

DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60)),
}
if DATABASE_POOL:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must not
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_MAX_SIZE}
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=env_int("DATABASE_REPLICA_CONN_MAX_AGE", env_int("DATABASE_CONN_MAX_AGE", 60)),
    )
    # Persistent connections are checked before reuse, so a replica restart costs one retry, not errors.
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    # Tests see one database: the replica alias mirrors the test primary.
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["signalflow.db_router.PrimaryReplicaRouter"]
