"""Piccolo's configuration: the engine comes from DATABASE_URL, which portal.db sets before first use."""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

DB = PostgresEngine(config={"dsn": os.environ["DATABASE_URL"]}, log_queries=False)

APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
