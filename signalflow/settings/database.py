"""PostgreSQL primary and optional streaming replica."""

import dj_database_url

from .env import env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/signalflow")
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL", "")

DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60)),
}
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["signalflow.db_router.PrimaryReplicaRouter"]
