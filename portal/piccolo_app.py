"""Piccolo app config: the explicit table list and the checked-in migrations folder."""

import os

from piccolo.conf.apps import AppConfig

from portal.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
