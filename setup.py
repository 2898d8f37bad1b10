"""What the wheel holds: Turnout's three packages plus the migrations, shipped as package data.

The migrations stay in the top-level `alembic/` folder, where `alembic.ini` and the `alembic` command
find them; the wheel maps that folder to `service.storage.migrations`, so a plain (non-editable)
install can run `turnout db upgrade` (service/storage/migrate.py). `alembic/` has no `__init__.py`
and is never a package under its own name: it must not shadow the `alembic` library. Every other
setting is in pyproject.toml.
"""

from setuptools import find_packages, setup

MIGRATIONS = "service.storage.migrations"

setup(
    # Found, not listed, so a new subpackage or a new revision file in alembic/versions/ ships by itself.
    packages=[*find_packages(include=["evals*", "jobs*", "service*"]), MIGRATIONS, f"{MIGRATIONS}.versions"],
    package_dir={MIGRATIONS: "alembic"},
    package_data={MIGRATIONS: ["script.py.mako"], "service.web": ["templates/*.html", "static/*"]},
)
