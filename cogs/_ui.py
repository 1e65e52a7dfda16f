"""How the cogs answer: quickly in one request, or deferred when the work is slow (`bot.client.reply`
sends either way); and the views they share: a paginator over a page source, a confirmation, a
post picker.

Only the member who ran the command can use their buttons, and every view expires.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import discord

from bot.client import RECEIVED, reply
from bot.errors import UserFacingError
from bot.render import NO_MENTIONS, post_label
from bot.services.views import PostRef

Page = list[discord.Embed]
TIMEOUT = 180.0  # seconds of inactivity before the buttons disable
ANSWER_WITHIN = 2.0  # seconds of work before a command's answer is deferred (Discord wants one within 3)
T = TypeVar("T")


async def answer_soon(interaction: discord.Interaction, work: Awaitable[T]) -> T:
    """What `work` gives; if it is not done ANSWER_WITHIN after the command arrived (a busy database;
    resolving its options counts too), the interaction is deferred first ("thinking...", public). A
    quick answer is then one request, not a deferral and a followup, and a slow one still meets
    Discord's 3 seconds."""
    loop = asyncio.get_running_loop()
    left = interaction.extras.get(RECEIVED, loop.time()) + ANSWER_WITHIN - loop.time()
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=max(left, 0))
        if not done and not interaction.response.is_done():
            await interaction.response.defer(thinking=True)
        return await task
    finally:
        task.cancel()  # nothing when it is done; else the command was cancelled or could not defer


class PageSource:
    """`count` pages, each fetched when first shown (`fetch(index)`) and kept."""

    def __init__(self, count: int, fetch: Callable[[int], Awaitable[Page]], *, first: Page | None = None) -> None:
        self.count = count
        self._fetch = fetch
        self._pages: dict[int, Page] = {0: first} if first is not None else {}

    @classmethod
    def of(cls, pages: Sequence[Page]) -> PageSource:
        """Pages already made."""

        async def fetch(index: int) -> Page:
            return pages[index]

        return cls(len(pages), fetch, first=pages[0] if pages else None)

    async def page(self, index: int) -> Page:
        if index not in self._pages:
            self._pages[index] = await self._fetch(index)
        return self._pages[index]


class OwnedView(discord.ui.View):
    """A view only `owner_id` may use; others are told so, ephemerally."""

    def __init__(self, *, owner_id: int, timeout: float = TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These buttons belong to whoever ran the command; run it yourself to browse.", ephemeral=True
            )
            return False
        return True


class Paginator(OwnedView):
    """Shows one page (a list of embeds) at a time; buttons disable at the ends and on timeout."""

    def __init__(self, source: PageSource | Sequence[Page], *, owner_id: int, timeout: float = TIMEOUT) -> None:
        super().__init__(owner_id=owner_id, timeout=timeout)
        self.source = source if isinstance(source, PageSource) else PageSource.of(source)
        self.index = 0
        self.message: discord.Message | discord.InteractionMessage | None = None
        self._refresh()

    def _refresh(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= self.source.count - 1
        self.counter.label = f"{self.index + 1}/{self.source.count}"

    async def _show(self, interaction: discord.Interaction, index: int) -> None:
        self.index = max(0, min(index, self.source.count - 1))
        self._refresh()
        page = await self.source.page(self.index)
        await interaction.response.edit_message(embeds=page, view=self, allowed_mentions=NO_MENTIONS)

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
        view = self if self.source.count > 1 else discord.utils.MISSING
        page = await self.source.page(0)
        self.message = await reply(interaction, embeds=page, view=view, ephemeral=ephemeral, allowed_mentions=NO_MENTIONS)
        if self.source.count <= 1:
            self.stop()


class Confirm(OwnedView):
    """A yes/no question: `on_confirm(interaction)` runs after "yes"; "no" and silence change nothing."""

    def __init__(
        self,
        origin: discord.Interaction,
        *,
        confirm_label: str,
        on_confirm: Callable[[discord.Interaction], Awaitable[str]],
        cancelled: str = "Nothing was changed.",
        timeout: float = 120,
    ) -> None:
        super().__init__(owner_id=origin.user.id, timeout=timeout)
        self.origin = origin
        self.on_confirm = on_confirm
        self.cancelled = cancelled
        self.confirm.label = confirm_label

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.defer()
        await interaction.edit_original_response(content=await self.on_confirm(interaction), view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content=self.cancelled, view=None)

    async def on_timeout(self) -> None:
        try:
            await self.origin.edit_original_response(content=f"No answer; {self.cancelled[0].lower()}{self.cancelled[1:]}", view=None)
        except discord.HTTPException:
            pass


class PostPicker(OwnedView):
    """A select of posts; `on_pick(interaction, post_id)` answers with the message to show."""

    def __init__(
        self, posts: list[PostRef], *, owner_id: int, placeholder: str, on_pick: Callable[[discord.Interaction, int], Awaitable[str]]
    ) -> None:
        super().__init__(owner_id=owner_id, timeout=300)
        self.on_pick = on_pick
        self.choice = discord.ui.Select(
            placeholder=placeholder, options=[discord.SelectOption(label=post_label(p), value=str(p.id)) for p in posts[:25]]
        )
        self.choice.callback = self._picked
        self.add_item(self.choice)

    async def _picked(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer()  # `on_pick` may wait for the database: acknowledge first, edit after
        try:
            content = await self.on_pick(interaction, int(self.choice.values[0]))
        except UserFacingError as error:
            content = str(error)
        self.stop()
        await interaction.edit_original_response(content=content, view=None, allowed_mentions=NO_MENTIONS)
