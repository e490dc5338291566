"""Development settings: every topic file with its local defaults. DJANGO_SETTINGS_MODULE default."""

from .alerts import *  # noqa: F403
from .api import *  # noqa: F403
from .base import *  # noqa: F403
from .celery import *  # noqa: F403
from .database import *  # noqa: F403
from .ingest import *  # noqa: F403
from .intel import *  # noqa: F403
from .kafka import *  # noqa: F403
from .metrics import *  # noqa: F403
from .nlp import *  # noqa: F403
from .pipeline import *  # noqa: F403
from .redis import *  # noqa: F403
