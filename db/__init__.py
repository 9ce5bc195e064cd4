"""Persistence layer: the engine, the models and the queries."""
