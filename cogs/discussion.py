"""Discussion threads: /discuss, /comment add|forget-me|remove, /comments, /discussion mode,
the "Save as comment" menu, and the listener that collects thread messages as comments.

Command names: DESIGN.md lists `/comment post text` and `/comment forget-me`; Discord cannot
have a command and a group both named `comment`, so `comment` is a group: `/comment add post
text`, `/comment forget-me`, `/comment remove id`.
"""

from __future__ import annotations

import dataclasses
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PostBot, reply
from bot.errors import UserFacingError
from bot.render import NO_MENTIONS, fit
from bot.render.posts import comment_pages
from bot.services import chat_references, comments, posts
from bot.services.views import CollectMode, SavedComment, StoredComment
from cogs._options import PostOption, post_here, scope_of
from cogs._threads import open_discussion
from cogs._ui import Confirm, Paginator, PostPicker, answer_soon

log = logging.getLogger(__name__)

QUOTES_NOTES = {
    True: "Messages in post threads that cite a treaty article now get a reply with the article.",
    False: "Messages in post threads that cite a treaty article get no reply now; the “Quote articles” menu still answers.",
}
MODE_NOTES = {
    CollectMode.AUTO: "Messages in post threads are now saved as comments automatically.",
    CollectMode.REQUEST: "Messages in post threads are now saved only on request (/comment add, “Save as comment”).",
}


def saved_message(saved: SavedComment) -> str:
    title = fit(saved.comment.post_title, 200)
    if saved.created:
        return f"Saved as comment #{saved.comment.id} on **{title}**."
    return f"That message is already comment #{saved.comment.id} on **{title}**."


def message_comment(message: discord.Message, *, guild_id: int | None) -> comments.DiscordComment:
    """A Discord message as a comment to save (its attachments become links)."""
    return comments.DiscordComment(
        author=message.author.display_name,
        text=comments.compose_text(message.content, [a.url for a in message.attachments]),
        posted_at=message.created_at,
        user_id=message.author.id,
        guild_id=guild_id,
        channel_id=message.channel.id,
        message_id=message.id,
    )


class Discussion(commands.Cog):
    """Each post's thread in each server, and the comments members write about the post."""

    comment = app_commands.Group(name="comment", description="Add or remove comments on posts", guild_only=True)
    discussion = app_commands.Group(
        name="discussion",
        description="How this server's post threads work",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot
        self.db = bot.database
        self.writer = comments.CommentWriter(self.db, clock=discord.utils.utcnow)
        self.save_menu = app_commands.ContextMenu(name="Save as comment", callback=self.save_as_comment)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.save_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.save_menu.name, type=self.save_menu.type)
        await self.writer.close()

    @property
    def collecting_enabled(self) -> bool:
        """Reading thread messages needs the privileged message_content intent."""
        return self.bot.intents.message_content

    # --- /discuss -------------------------------------------------------------------------

    @app_commands.command(name="discuss")
    @app_commands.describe(post="The post to discuss (type to search titles)")
    @app_commands.guild_only()
    @app_commands.checks.bot_has_permissions(create_public_threads=True, send_messages_in_threads=True)
    async def discuss(self, interaction: discord.Interaction, post: PostOption) -> None:
        """Open the post's discussion thread here, or link the one this server already has."""
        await open_discussion(self.bot, interaction, post.id, title=post.title)  # the feed cards' "Discuss" button too

    # --- collecting from threads ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A human message in a thread: queued; the writer keeps it if the thread is a post's thread."""
        if not self.collecting_enabled or message.guild is None or not isinstance(message.channel, discord.Thread):
            return
        if message.author.bot or message.author.system or message.webhook_id is not None or message.is_system():
            return
        comment = message_comment(message, guild_id=message.guild.id)
        if comment.text.strip():
            self.writer.put(dataclasses.replace(comment, text=comments.collected_text(comment.text)))
            self.bot.metrics.comments.inc()

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.guild_id is None or not self.collecting_enabled or "content" not in payload.data:
            return
        if self.bot.user is not None and payload.data.get("author", {}).get("id") == str(self.bot.user.id):
            return  # its own answers, edited as commands go on: never a member's comment (a write each saved)
        message = payload.message
        text = comments.compose_text(message.content, [a.url for a in message.attachments])
        self.writer.put(comments.CommentEdit(message_id=payload.message_id, text=comments.collected_text(text)))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            self.writer.put(comments.CommentDeletion(message_ids=(payload.message_id,)))

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            self.writer.put(comments.CommentDeletion(message_ids=tuple(payload.message_ids)))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        if await self.db.call(comments.forget_thread, thread_id=payload.thread_id):
            log.info("post thread %s was deleted; the next /discuss opens a new one", payload.thread_id)

    # --- /comment add | forget-me | remove -------------------------------------------------

    @comment.command(name="add")
    @app_commands.describe(text="Your comment", post="The post to comment on (type to search titles); in a post's thread, that post")
    async def comment_add(self, interaction: discord.Interaction, text: str, post: PostOption | None = None) -> None:
        """Add a comment to a post (in a post's thread: to that post)."""
        post = await post_here(interaction, post)
        comment = comments.DiscordComment(
            author=interaction.user.display_name,
            text=comments.check_text(comments.compose_text(text)),
            posted_at=discord.utils.utcnow(),
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            post_id=post.id,
        )
        await interaction.response.defer(ephemeral=True, thinking=True)  # saving may wait for the database (a load beside it)
        saved = await self.db.call(comments.save_comment, comment=comment, now=discord.utils.utcnow())
        await interaction.followup.send(saved_message(saved), ephemeral=True, allowed_mentions=NO_MENTIONS)

    @comment.command(name="forget-me")
    async def comment_forget_me(self, interaction: discord.Interaction) -> None:
        """Delete all your comments saved from this server (asks you first)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.writer.flush()
        guild_id, user_id = interaction.guild_id, interaction.user.id
        count = await self.db.call(comments.count_member_comments, guild_id=guild_id, user_id=user_id)
        if not count:
            await interaction.followup.send("You have no comments saved from this server.", ephemeral=True)
            return

        async def forget(_interaction: discord.Interaction) -> str:
            await self.writer.flush()  # comments still queued are deleted too
            deleted = await self.db.call(comments.forget_member, guild_id=guild_id, user_id=user_id)
            return f"Deleted {deleted} of your comments from this server."

        noun = "comment" if count == 1 else "comments"
        confirm = Confirm(interaction, confirm_label="Delete my comments", on_confirm=forget, cancelled="Nothing was deleted.")
        await interaction.followup.send(
            f"This deletes your {count} {noun} saved from this server, on every post. It cannot be undone.", view=confirm, ephemeral=True
        )

    @comment.command(name="remove")
    @app_commands.describe(comment="The comment's number, as /comments shows it (#123)")
    async def comment_remove(self, interaction: discord.Interaction, comment: app_commands.Range[int, 1]) -> None:
        """Remove a comment saved from this server: your own, or any with Manage Server."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        await self.writer.flush()
        is_admin = interaction.permissions.manage_guild
        removed = await self.db.call(
            comments.remove_comment, comment_id=comment, guild_id=interaction.guild_id, user_id=None if is_admin else interaction.user.id
        )
        await interaction.followup.send(
            f"Removed comment #{removed.id} by {fit(removed.author, 100)} on **{fit(removed.post_title, 200)}**.",
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    # --- "Save as comment" --------------------------------------------------------------------

    @app_commands.guild_only()
    async def save_as_comment(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Store this message as a comment: on the thread's post, or on a post you pick."""
        comment = message_comment(message, guild_id=interaction.guild_id)
        comments.check_text(comment.text)
        await interaction.response.defer(ephemeral=True, thinking=True)  # saving may wait for the database
        thread_id = interaction.channel.id if isinstance(interaction.channel, discord.Thread) else None
        post = await self.db.call(comments.comment_target, thread_id=thread_id, message_id=message.id)
        if post is not None:
            saved = await self.db.call(comments.save_comment, comment=dataclasses.replace(comment, post_id=post.id), now=discord.utils.utcnow())
            await interaction.followup.send(saved_message(saved), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        newest = await self.db.call(posts.post_choices, scope=scope_of(interaction))
        if not newest:
            raise UserFacingError("There are no posts to comment on yet.")

        async def pick(_interaction: discord.Interaction, post_id: int) -> str:
            chosen = dataclasses.replace(comment, post_id=post_id)
            return saved_message(await self.db.call(comments.save_comment, comment=chosen, now=discord.utils.utcnow()))

        picker = PostPicker(newest, owner_id=interaction.user.id, placeholder="Which post is this a comment on?", on_pick=pick)
        await interaction.followup.send(
            "Which post is this message a comment on? (The newest posts are listed; for an older one, use /comment add.)",
            view=picker,
            ephemeral=True,
        )

    # --- /comments ------------------------------------------------------------------------------

    @app_commands.command(name="comments")
    @app_commands.describe(post="The post whose comments to show (type to search titles); in a post's thread, that post")
    async def comments(self, interaction: discord.Interaction, post: PostOption | None = None) -> None:
        """Show a post's comments: the original ones, then those from Discord."""
        post = await post_here(interaction, post)

        async def read() -> list[StoredComment]:
            await self.writer.flush()  # what members just said is listed too
            return await self.db.call(comments.list_comments, post_id=post.id, scope=scope_of(interaction))

        listed = await answer_soon(interaction, read())
        if not listed:
            await reply(interaction, content=f"**{fit(post.title, 200)}** has no comments yet.", ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await Paginator(comment_pages(post.title, listed), owner_id=interaction.user.id).send(interaction)

    # --- /discussion mode -------------------------------------------------------------------------

    @discussion.command(name="mode")
    @app_commands.describe(mode="auto: save every message in post threads; request: only /comment add and the menu")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="auto: save every message in post threads", value=CollectMode.AUTO.value),
            app_commands.Choice(name="request: only /comment add and “Save as comment”", value=CollectMode.REQUEST.value),
        ]
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def discussion_mode(self, interaction: discord.Interaction, mode: app_commands.Choice[str]) -> None:
        """Choose whether thread messages are saved as comments automatically or only on request."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        chosen = await self.db.call(comments.set_collect_mode, guild_id=interaction.guild_id, mode=CollectMode(mode.value))
        note = MODE_NOTES[chosen]
        if chosen == CollectMode.AUTO and not self.collecting_enabled:
            note = (
                "Set to auto, but this bot runs without the message content intent, so only /comment add "
                "and “Save as comment” can save comments."
            )
        await interaction.followup.send(note, ephemeral=True)

    # --- /discussion quotes (the answers themselves: cogs/articles.py) ----------------------------

    @discussion.command(name="quotes")
    @app_commands.describe(setting="on: answer article references in post threads with the article; off: stay quiet")
    @app_commands.choices(
        setting=[
            app_commands.Choice(name="on: reply to messages citing an article with its text", value="on"),
            app_commands.Choice(name="off: stay quiet (the “Quote articles” menu still works)", value="off"),
        ]
    )
    @app_commands.checks.has_permissions(manage_guild=True)
    async def discussion_quotes(self, interaction: discord.Interaction, setting: app_commands.Choice[str]) -> None:
        """Choose whether the bot answers messages in post threads that cite a treaty article."""
        await interaction.response.defer(ephemeral=True, thinking=True)  # writing may wait for the database
        enabled = await self.db.call(chat_references.set_chat_quotes, guild_id=interaction.guild_id, enabled=setting.value == "on")
        note = QUOTES_NOTES[enabled]
        if enabled and not self.collecting_enabled:
            note = "Set to on, but this bot runs without the message content intent, so only the “Quote articles” menu can quote them."
        await interaction.followup.send(note, ephemeral=True)


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Discussion(bot))
