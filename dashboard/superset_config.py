"""Superset settings for the segmentation dashboards (SUPERSET_CONFIG_PATH): Superset's own
metadata in a SQLite file under build/dashboard (or SEGMENTATION_DASHBOARD_HOME), no caches,
no CSRF or rate limits (a local, single-user tool)."""

import os
from pathlib import Path

DASHBOARD_HOME = Path(os.environ.get("SEGMENTATION_DASHBOARD_HOME",
                                     Path(__file__).resolve().parents[1] / "build" / "dashboard"))
DASHBOARD_HOME.mkdir(parents=True, exist_ok=True)
SQLALCHEMY_DATABASE_URI = f"sqlite:///{DASHBOARD_HOME / 'superset.db'}"
# A local dashboard: the key only signs this machine's sessions.
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "segmentation-dashboard-local")
WTF_CSRF_ENABLED = False
TALISMAN_ENABLED = False
# The connection is a local DuckDB file (Superset refuses local files unless told).
PREVENT_UNSAFE_DB_CONNECTIONS = False
CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "NullCache"}
RATELIMIT_ENABLED = False
