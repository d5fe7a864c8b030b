"""Settings whose database is not the one DATABASE_URL names (for test_createdb.py)."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES = {"default": {**DATABASES["default"], "NAME": os.environ["CREATEDB_CHECK_NAME"]}}
