"""Use cases shared by the CLI and the cogs: load, quote, digest, comment, search, export."""
