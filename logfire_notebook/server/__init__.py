"""The local Logfire-compatible backend: query API, OTLP ingest, storage, tokens and demo data.

A separate program (`logfire-notebook serve`) that shares only the table schema (`_schema`) with the rest of
the package. Its dependencies live in the `server` extra.
"""
