"""Fixtures every test folder may use: a real PostgreSQL (``postgres_url``, ``own_postgres``)."""

pytest_plugins = ["tests.support.postgres_fixtures"]
