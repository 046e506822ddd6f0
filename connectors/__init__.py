"""Connectors: each module knows one outside source and turns its payloads into Mentions.

Connectors never touch the database; they take the cursor the store kept for them and
yield batches of new mentions, each with the cursor to keep once that batch is stored.
"""

from connectors.base import Batch, Connector, Skipped, available_types, load_connector_class

__all__ = ["Batch", "Connector", "Skipped", "available_types", "load_connector_class"]
