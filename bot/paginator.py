"""Previous/Next buttons over a list of pages; only the invoker can turn them, and they expire."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.render import NO_MENTIONS

Page = list[discord.Embed]

TIMEOUT = 180.0  # seconds of inactivity before the buttons disable


class Paginator(discord.ui.View):
    """Shows one page (a list of embeds) at a time; buttons disable at the ends and on timeout."""

    def __init__(self, pages: list[Page], *, owner_id: int, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.Message | discord.InteractionMessage | None = None
        self._refresh()

    def _refresh(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1
        self.counter.label = f"{self.index + 1}/{len(self.pages)}"

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These buttons belong to whoever ran the command; run it yourself to browse.", ephemeral=True
            )
            return False
        return True

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, len(self.pages) - 1))
        self._refresh()
        await interaction.response.edit_message(embeds=self.pages[self.index], view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.index - 1)

    @discord.ui.button(label="1/1", style=discord.ButtonStyle.secondary, disabled=True)
    async def counter(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:  # pragma: no cover - disabled
        await interaction.response.defer()

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.index + 1)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException:
                pass

    async def send(self, interaction: discord.Interaction, *, ephemeral: bool = False) -> None:
        """Answer (or follow up a deferred) interaction with the first page; no buttons for one page."""
        view = self if len(self.pages) > 1 else discord.utils.MISSING
        kwargs = {"embeds": self.pages[0], "ephemeral": ephemeral, "allowed_mentions": NO_MENTIONS}
        if interaction.response.is_done():
            self.message = await interaction.followup.send(view=view, wait=True, **kwargs)
        else:
            await interaction.response.send_message(view=view, **kwargs)
            self.message = await interaction.original_response()
        if len(self.pages) <= 1:
            self.stop()


class LazyPaginator(Paginator):
    """A Paginator whose pages (after the first) are fetched when first shown."""

    def __init__(self, first: Page, count: int, fetch: Callable[[int], Awaitable[Page]], *, owner_id: int) -> None:
        super().__init__([first] + [[] for _ in range(count - 1)], owner_id=owner_id)
        self.fetch = fetch

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        index = max(0, min(index, len(self.pages) - 1))
        if not self.pages[index]:
            self.pages[index] = await self.fetch(index)
        await super()._show(interaction, index)
