"""Discussion threads: /discuss, /comment add|forget-me|remove, /comments, /discussion mode,
the "Save as comment" menu, and the listener that collects thread messages as comments.

Command names: DESIGN.md lists `/comment post text` and the issue `/comment forget-me`; Discord
cannot have a command and a group both named `comment`, so `comment` is a group: `/comment add
post text`, `/comment forget-me`, `/comment remove id`.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.paginator import Paginator
from bot.render import CHOICE_NAME_LIMIT, EMBED_TITLE_LIMIT, NO_MENTIONS, THREAD_NAME_LIMIT, shorten, split_text
from bot.services import comments as svc
from bot.store import CommentView

log = logging.getLogger(__name__)

COMMENTS_PER_PAGE = 8
PAGE_BUDGET = 3800  # description characters per page: below the 4096 limit, and 6000 with title and footer
ORIGINAL_COLOUR = discord.Colour.blurple()

COLLECTING_NOTE = {
    True: (
        "Messages in this thread are saved as comments on the post and exported with it. "
        "Remove yours with /comment forget-me."
    ),
    False: (
        "Messages in this thread are saved only on request: use “Save as comment” on a message, "
        "or /comment add."
    ),
}


async def post_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Titles matching what the user typed, newest first, with their dates."""
    db = interaction.client.database
    posts = await db.run(svc.post_choices, db, current=current)
    return [app_commands.Choice(name=p.label(CHOICE_NAME_LIMIT), value=str(p.id)) for p in posts]


def card_embed(card: svc.DiscussionCard, *, collecting: bool) -> discord.Embed:
    """The thread's first message: the post at a glance, and whether messages are collected."""
    embed = discord.Embed(
        title=shorten(card.title, EMBED_TITLE_LIMIT),
        url=card.link,
        description=card.summary or None,
        colour=ORIGINAL_COLOUR,
    )
    embed.add_field(name="Date", value=f"{card.date:%A, %B} {card.date.day}, {card.date.year}", inline=True)
    if card.source:
        embed.add_field(name="Source", value=shorten(card.source, 1024), inline=True)
    embed.add_field(name="Comments so far", value=str(card.comment_count), inline=True)
    embed.set_footer(text=COLLECTING_NOTE[collecting])
    return embed


def _comment_block(c: CommentView) -> str:
    when = f" · {discord.utils.format_dt(c.posted_at, 'f')}" if c.posted_at else ""
    where = " · Discord" if c.origin == svc.ORIGIN_DISCORD else ""
    return f"**{discord.utils.escape_markdown(c.author)}**{when}{where} · #{c.id}\n{c.text}"


def comment_pages(title: str, comments: list[CommentView]) -> list[list[discord.Embed]]:
    """One embed per page, a few comments each; a very long comment spans pages."""
    blocks: list[str] = []
    for c in comments:
        blocks.extend(split_text(_comment_block(c), PAGE_BUDGET))
    pages: list[str] = []
    current: list[str] = []
    for block in blocks:
        if current and (len(current) == COMMENTS_PER_PAGE or len("\n\n".join([*current, block])) > PAGE_BUDGET):
            pages.append("\n\n".join(current))
            current = []
        current.append(block)
    if current:
        pages.append("\n\n".join(current))
    discord_count = sum(c.origin == svc.ORIGIN_DISCORD for c in comments)
    footer = f"{len(comments) - discord_count} original, {discord_count} from Discord"
    heading = shorten(f"Comments on {title}", EMBED_TITLE_LIMIT)
    return [
        [discord.Embed(title=heading, description=page, colour=ORIGINAL_COLOUR).set_footer(text=footer)]
        for page in pages
    ]


class PostPicker(discord.ui.View):
    """For "Save as comment" outside a post thread: the member picks the post from the newest ones."""

    def __init__(self, cog: Discussion, comment: svc.NewComment, posts: list[svc.PostTitle]) -> None:
        super().__init__(timeout=300)
        self.cog = cog
        self.comment = comment
        self.choice = discord.ui.Select(
            placeholder="Which post is this a comment on?",
            options=[discord.SelectOption(label=p.label(100), value=str(p.id)) for p in posts],
        )
        self.choice.callback = self.chosen
        self.add_item(self.choice)

    async def chosen(self, interaction: discord.Interaction) -> None:
        comment = replace(self.comment, post_id=int(self.choice.values[0]))
        try:
            saved = await self.cog.db.run(svc.save_comment, self.cog.db, comment=comment)
            content = saved_message(saved)
        except UserFacingError as error:
            content = str(error)
        self.stop()
        await interaction.response.edit_message(content=content, view=None, allowed_mentions=NO_MENTIONS)


class ForgetMeView(discord.ui.View):
    """Confirmation for /comment forget-me; only the member who asked sees it (ephemeral)."""

    def __init__(self, cog: Discussion, origin: discord.Interaction) -> None:
        super().__init__(timeout=120)
        self.cog = cog
        self.origin = origin

    @discord.ui.button(label="Delete my comments", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.defer()
        await self.cog.writer.flush()  # comments still queued are deleted too
        count = await self.cog.db.run(
            svc.forget_member, self.cog.db, guild_id=interaction.guild_id, user_id=interaction.user.id
        )
        await interaction.edit_original_response(content=f"Deleted {count} of your comments from this server.", view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)

    async def on_timeout(self) -> None:
        try:
            await self.origin.edit_original_response(content="No answer; nothing was deleted.", view=None)
        except discord.HTTPException:
            pass


def saved_message(saved: svc.SavedComment) -> str:
    title = shorten(saved.post_title, 200)
    if saved.created:
        return f"Saved as comment #{saved.id} on **{title}**."
    return f"That message is already comment #{saved.id} on **{title}**."


class Discussion(commands.Cog):
    """Each post's thread in each server, and the comments members write about the post."""

    comment = app_commands.Group(name="comment", description="Add or remove comments on posts", guild_only=True)
    discussion = app_commands.Group(
        name="discussion",
        description="How this server's post threads work",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self.db = bot.database
        self.writer = svc.CommentWriter(self.db)
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
    @app_commands.autocomplete(post=post_autocomplete)
    @app_commands.guild_only()
    @app_commands.checks.bot_has_permissions(create_public_threads=True, send_messages_in_threads=True)
    async def discuss(self, interaction: discord.Interaction, post: str) -> None:
        """Open the post's discussion thread here, or link the one this server already has."""
        found = await self.db.run(svc.resolve_post, self.db, value=post)
        existing = await self.db.run(svc.get_post_thread, self.db, post_id=found.id, guild_id=interaction.guild_id)
        if existing is not None:
            if await self._thread_exists(existing.thread_id):
                await interaction.response.send_message(
                    f"**{shorten(found.title, 200)}** is discussed in <#{existing.thread_id}> ({existing.url}).",
                    ephemeral=True,
                )
                return
            await self.db.run(svc.forget_thread, self.db, thread_id=existing.thread_id)
        if not isinstance(interaction.channel, discord.TextChannel):
            raise UserFacingError("Run /discuss in a text channel: the post's thread opens there.")
        await interaction.response.defer(thinking=True)
        card = await self.db.run(svc.discussion_card, self.db, post_id=found.id, guild_id=interaction.guild_id)
        collecting = self.collecting_enabled and card.collect_mode == svc.AUTO
        starter = await interaction.edit_original_response(embed=card_embed(card, collecting=collecting))
        thread = await starter.create_thread(name=shorten(card.title, THREAD_NAME_LIMIT))
        ref = await self.db.run(
            svc.register_thread,
            self.db,
            post_id=found.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel.id,
            thread_id=thread.id,
        )
        if ref.thread_id != thread.id:  # another /discuss won the race: keep one thread per post
            await thread.delete()
            await interaction.followup.send(f"This post is discussed in <#{ref.thread_id}>.", ephemeral=True)
            return
        log.info("opened thread %s for post %s in guild %s", thread.id, found.id, interaction.guild_id)

    async def _thread_exists(self, thread_id: int) -> bool:
        if self.bot.get_channel(thread_id) is not None:
            return True
        try:
            await self.bot.fetch_channel(thread_id)
        except discord.NotFound:
            return False
        except discord.HTTPException:
            return True  # cannot tell (e.g. no access): do not open a second thread
        return True

    # --- collecting from threads ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A human message in a thread: queued; the writer keeps it if the thread is a post's thread."""
        if not self.collecting_enabled or message.guild is None or not isinstance(message.channel, discord.Thread):
            return
        if message.author.bot or message.author.system or message.webhook_id is not None or message.is_system():
            return
        text = svc.compose_text(message.content, [a.url for a in message.attachments])
        if not svc.is_valid_text(text):
            return
        self.writer.put(
            svc.NewComment(
                author=message.author.display_name,
                text=text,
                posted_at=message.created_at,
                user_id=message.author.id,
                guild_id=message.guild.id,
                channel_id=message.channel.id,
                message_id=message.id,
            )
        )

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.guild_id is None or not self.collecting_enabled or "content" not in payload.data:
            return
        message = payload.message
        text = svc.compose_text(message.content, [a.url for a in message.attachments])
        self.writer.put(svc.CommentEdit(message_id=payload.message_id, text=text))

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            self.writer.put(svc.CommentDeletion(message_ids=(payload.message_id,)))

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        if payload.guild_id is not None:
            self.writer.put(svc.CommentDeletion(message_ids=tuple(payload.message_ids)))

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        if await self.db.run(svc.forget_thread, self.db, thread_id=payload.thread_id):
            log.info("post thread %s was deleted; the next /discuss opens a new one", payload.thread_id)

    # --- /comment add | forget-me | remove -------------------------------------------------

    @comment.command(name="add")
    @app_commands.describe(post="The post to comment on (type to search titles)", text="Your comment")
    @app_commands.autocomplete(post=post_autocomplete)
    async def comment_add(self, interaction: discord.Interaction, post: str, text: str) -> None:
        """Add a comment to a post."""
        found = await self.db.run(svc.resolve_post, self.db, value=post)
        comment = svc.NewComment(
            author=interaction.user.display_name,
            text=svc.check_text(svc.compose_text(text)),
            posted_at=discord.utils.utcnow(),
            user_id=interaction.user.id,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            post_id=found.id,
        )
        saved = await self.db.run(svc.save_comment, self.db, comment=comment)
        await interaction.response.send_message(saved_message(saved), ephemeral=True)

    @comment.command(name="forget-me")
    async def comment_forget_me(self, interaction: discord.Interaction) -> None:
        """Delete all your comments saved from this server (asks you first)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.writer.flush()
        count = await self.db.run(
            svc.count_member_comments, self.db, guild_id=interaction.guild_id, user_id=interaction.user.id
        )
        if not count:
            await interaction.followup.send("You have no comments saved from this server.", ephemeral=True)
            return
        noun = "comment" if count == 1 else "comments"
        await interaction.followup.send(
            f"This deletes your {count} {noun} saved from this server, on every post. It cannot be undone.",
            view=ForgetMeView(self, interaction),
            ephemeral=True,
        )

    @comment.command(name="remove")
    @app_commands.describe(comment="The comment's number, as /comments shows it (#123)")
    async def comment_remove(self, interaction: discord.Interaction, comment: app_commands.Range[int, 1]) -> None:
        """Remove a comment saved from this server: your own, or any with Manage Server."""
        await self.writer.flush()
        is_admin = interaction.permissions.manage_guild
        removed = await self.db.run(
            svc.remove_comment,
            self.db,
            comment_id=comment,
            guild_id=interaction.guild_id,
            user_id=None if is_admin else interaction.user.id,
        )
        await interaction.response.send_message(
            f"Removed comment #{removed.id} by {removed.author} on **{shorten(removed.post_title, 200)}**.",
            ephemeral=True,
        )

    # --- "Save as comment" --------------------------------------------------------------------

    @app_commands.guild_only()
    async def save_as_comment(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Store this message as a comment: on the thread's post, or on a post you pick."""
        comment = svc.NewComment(
            author=message.author.display_name,
            text=svc.check_text(svc.compose_text(message.content, [a.url for a in message.attachments])),
            posted_at=message.created_at,
            user_id=message.author.id,
            guild_id=interaction.guild_id,
            channel_id=message.channel.id,
            message_id=message.id,
        )
        post = None
        if isinstance(interaction.channel, discord.Thread):
            post = await self.db.run(svc.thread_post, self.db, thread_id=interaction.channel.id)
        if post is None:
            post = await self.db.run(svc.comment_post, self.db, message_id=message.id)
        if post is not None:
            saved = await self.db.run(svc.save_comment, self.db, comment=replace(comment, post_id=post.id))
            await interaction.response.send_message(saved_message(saved), ephemeral=True)
            return
        posts = await self.db.run(svc.post_choices, self.db, current="")
        if not posts:
            raise UserFacingError("There are no posts to comment on yet.")
        await interaction.response.send_message(
            "Which post is this message a comment on? (The newest posts are listed; for an older one, "
            "use /comment add.)",
            view=PostPicker(self, comment, posts),
            ephemeral=True,
        )

    # --- /comments ------------------------------------------------------------------------------

    @app_commands.command(name="comments")
    @app_commands.describe(post="The post whose comments to show (type to search titles)")
    @app_commands.autocomplete(post=post_autocomplete)
    async def comments(self, interaction: discord.Interaction, post: str) -> None:
        """Show a post's comments: the original ones, then those from Discord."""
        found = await self.db.run(svc.resolve_post, self.db, value=post)
        await self.writer.flush()
        listed = await self.db.run(svc.list_comments, self.db, post_id=found.id)
        if not listed:
            await interaction.response.send_message(f"**{shorten(found.title, 200)}** has no comments yet.", ephemeral=True)
            return
        await Paginator(comment_pages(found.title, listed), owner_id=interaction.user.id).send(interaction)

    # --- /discussion mode -------------------------------------------------------------------------

    @discussion.command(name="mode")
    @app_commands.describe(mode="auto: save every message in post threads; request: only /comment add and the menu")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="auto: save every message in post threads", value=svc.AUTO),
            app_commands.Choice(name="request: only /comment add and “Save as comment”", value=svc.REQUEST),
        ]
    )
    async def discussion_mode(self, interaction: discord.Interaction, mode: app_commands.Choice[str]) -> None:
        """Choose whether thread messages are saved as comments automatically or only on request."""
        await self.db.run(svc.set_collect_mode, self.db, guild_id=interaction.guild_id, mode=mode.value)
        if mode.value == svc.AUTO and not self.collecting_enabled:
            note = (
                "Set to auto, but this bot runs without the message content intent, so only /comment add "
                "and “Save as comment” can save comments."
            )
        elif mode.value == svc.AUTO:
            note = "Messages in post threads are now saved as comments automatically."
        else:
            note = "Messages in post threads are now saved only on request (/comment add, “Save as comment”)."
        await interaction.response.send_message(note, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Discussion(bot))
