"""Thin discord.py extensions over bot's services, one per feature; every module here is loaded."""
