"""postbot's core: settings, store, parsing and services. `from bot import Settings, create_bot`."""

from bot.settings import Settings

__all__ = ["Settings", "create_bot"]


def __getattr__(name: str):
    # create_bot imports discord.py and the cogs; keep `import bot` light for the CLI and parsers.
    if name == "create_bot":
        from bot.client import create_bot

        return create_bot
    raise AttributeError(name)
