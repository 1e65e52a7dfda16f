"""A post's discussion thread in a server, opened by `/discuss` and by the "Discuss" button under
feed cards: one use case (`open_discussion`), so both open, link or reopen a thread alike.

The button is persistent: a `DynamicItem` whose custom_id carries the post id
(`postbot:discuss:<id>`), registered when the feed cog loads, so a card announced before a restart
still works after it. A post gone meanwhile (or never this server's) is "no longer exists".
"""

from __future__ import annotations

import logging

import discord

from bot.client import send_ephemeral
from bot.errors import UserFacingError
from bot.render import NO_MENTIONS, THREAD_NAME_LIMIT, fit, shorten
from bot.render.posts import post_card_embed
from bot.services import comments
from bot.services.views import CollectMode, ThreadRef

log = logging.getLogger(__name__)

COLLECTING_NOTE = {
    True: "Messages in this thread are saved as comments on the post and exported with it. Remove yours with /comment forget-me.",
    False: "Messages in this thread are saved only on request: use “Save as comment” on a message, or /comment add.",
}
THREAD_PERMISSIONS = ("create_public_threads", "send_messages_in_threads")


async def thread_exists(bot, thread_id: int) -> bool:
    """Whether the thread is still there (when the bot cannot tell, it assumes so: never two threads)."""
    if bot.get_channel(thread_id) is not None:
        return True
    try:
        await bot.fetch_channel(thread_id)
    except discord.NotFound:
        return False
    except discord.HTTPException:
        return True
    return True


def collecting(bot, mode: CollectMode) -> bool:
    """Whether thread messages are saved as comments: the server's mode, and the message content intent."""
    return bot.intents.message_content and mode == CollectMode.AUTO


async def open_discussion(bot, interaction: discord.Interaction, post_id: int, *, title: str | None = None) -> None:
    """Link the post's thread in this server, or open it here: the card as the thread's first message."""
    db = bot.database
    existing = await db.call(comments.post_thread, post_id=post_id, guild_id=interaction.guild_id)
    if existing is not None and await thread_exists(bot, existing.thread_id):
        what = f"**{fit(title, 200)}** is" if title else "This post is"
        await interaction.response.send_message(f"{what} discussed in <#{existing.thread_id}>.", ephemeral=True, allowed_mentions=NO_MENTIONS)
        return
    if not isinstance(interaction.channel, discord.TextChannel):
        raise UserFacingError("Run /discuss in a text channel: the post's thread opens there.")
    missing = [p for p in THREAD_PERMISSIONS if not getattr(interaction.app_permissions, p)]
    if missing:
        raise UserFacingError(f"I am missing a permission here: {', '.join(p.replace('_', ' ') for p in missing)}.")
    # A read, so before deferring: a post gone meanwhile is said ephemerally, not after a public "thinking".
    card, mode = await db.call(comments.discussion_card, post_id=post_id, guild_id=interaction.guild_id)
    await interaction.response.defer(thinking=True)
    if existing is not None:  # its thread was deleted: forget it (a write, so after deferring)
        await db.call(comments.forget_thread, thread_id=existing.thread_id)
    embed = post_card_embed(card, footer=COLLECTING_NOTE[collecting(bot, mode)], discussion=False)
    starter = await interaction.edit_original_response(embed=embed)
    thread = await starter.create_thread(name=shorten(card.title, THREAD_NAME_LIMIT))
    ref = await db.call(
        comments.register_thread,
        thread=ThreadRef(post_id=post_id, guild_id=interaction.guild_id, channel_id=interaction.channel.id, thread_id=thread.id),
        now=discord.utils.utcnow(),
    )
    if ref.thread_id != thread.id:  # another /discuss won the race: keep one thread per post
        await thread.delete()
        await interaction.followup.send(f"This post is discussed in <#{ref.thread_id}>.", ephemeral=True)
        return
    log.info("opened thread %s for post %s in guild %s", thread.id, post_id, interaction.guild_id)


class DiscussButton(discord.ui.DynamicItem[discord.ui.Button], template=r"postbot:discuss:(?P<post_id>[0-9]{1,20})"):
    """"Discuss" under a feed card: opens (or links) the post's discussion thread, as /discuss does."""

    def __init__(self, post_id: int, label: str = "Discuss") -> None:
        super().__init__(
            discord.ui.Button(label=label, emoji="💬", style=discord.ButtonStyle.secondary, custom_id=f"postbot:discuss:{post_id}")
        )
        self.post_id = post_id

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Button, match) -> DiscussButton:
        return cls(int(match["post_id"]), label=item.label or "Discuss")

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            if interaction.guild_id is None:
                raise UserFacingError("This button only works in a server.")
            await open_discussion(interaction.client, interaction, self.post_id)
        except UserFacingError as exc:
            await send_ephemeral(interaction, str(exc))
        except Exception:
            log.exception("the Discuss button failed (post %s, user %s, guild %s)", self.post_id, interaction.user.id, interaction.guild_id)
            await send_ephemeral(interaction, "Sorry, something went wrong on our side. It has been logged.")


def discuss_view(posts: tuple[tuple[int, str], ...] | list[tuple[int, str]]) -> discord.ui.View | None:
    """The buttons under a message of cards: one per post (at most 25), none for no posts."""
    if not posts:
        return None
    view = discord.ui.View(timeout=None)
    for post_id, label in posts[:25]:
        view.add_item(DiscussButton(post_id, label))
    return view
