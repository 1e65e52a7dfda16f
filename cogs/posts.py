"""/post show, /post list, /search, /load and /export: find and read stored posts, add new ones by
upload, download this server's as a zip (bot/services/export.py says what it holds).

/post list fetches each page when it is first shown, so a large store is never read at once; /search
ranks its 25 best matches at once and makes each page's snippets when that page is first shown.
/load answers ephemerally: it is an admin's report, not news for the channel.
The read commands answer at once, in one request; only work slower than `_ui.ANSWER_WITHIN` (a
busy database) is deferred first, publicly. /search answers "Nothing matches" ephemerally, as every
not-found, unless it was deferred.
"""

from __future__ import annotations

import io
import logging
import math

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PostBot, reply
from bot.errors import UserFacingError
from bot.render import NO_MENTIONS
from bot.render.posts import HITS_PER_PAGE, load_report, nothing_found, post_card_embed, post_list_embed, search_page
from bot.render.export import export_report
from bot.services import export, loading, posts, search, sources
from cogs._options import PostOption, scope_of
from cogs._ui import Page, PageSource, Paginator, answer_soon

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 200
MAX_UPLOAD_BYTES = sources.MAX_SOURCE_BYTES  # one limit for every source: uploads, files, URLs


class Posts(commands.Cog):
    """Reading, listing, searching and uploading posts."""

    post = app_commands.Group(name="post", description="Read and list the stored posts")

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot
        self.db = bot.database

    @post.command(name="show")
    @app_commands.describe(post="The post (type to search titles)")
    async def show(self, interaction: discord.Interaction, post: PostOption) -> None:
        """Show a post: date, source, summary, articles it quotes, comments and its thread."""
        card = await answer_soon(interaction, self.db.call(posts.show_post, post_id=post.id, scope=scope_of(interaction)))
        await reply(interaction, embed=post_card_embed(card, discuss=self.bot.mention("discuss")), allowed_mentions=NO_MENTIONS)

    @post.command(name="list")
    async def list_posts(self, interaction: discord.Interaction) -> None:
        """List the stored posts, newest first, 10 a page."""
        scope = scope_of(interaction)
        first = await answer_soon(interaction, self.db.call(posts.post_page, page=0, scope=scope))
        if not first.pages:
            raise UserFacingError("No posts are stored yet; an admin can add some with `/load`.")

        async def fetch(index: int) -> Page:
            return [post_list_embed(await self.db.call(posts.post_page, page=index, scope=scope))]

        source = PageSource(first.pages, fetch, first=[post_list_embed(first)])
        await Paginator(source, owner_id=interaction.user.id).send(interaction)

    @app_commands.command(name="search")
    @app_commands.describe(query="Words to find in posts, comments and treaty articles")
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, MAX_QUERY_LENGTH]) -> None:
        """Search posts, comments and treaty articles; the best matches first."""
        search.required_terms(query)  # a query without words is answered ephemerally, before deferring
        ranked = self.db.call(search.rank, query=query, scope=scope_of(interaction), show=HITS_PER_PAGE)
        ranking, first = await answer_soon(interaction, ranked)
        if not ranking.hits:
            await reply(interaction, content=nothing_found(query), ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        total = len(ranking.hits)

        async def fetch(index: int) -> Page:
            start = index * HITS_PER_PAGE
            hits = await self.db.call(search.hits_of, ranking, start=start, stop=start + HITS_PER_PAGE)
            return search_page(query, hits, start=start, total=total)

        source = PageSource(math.ceil(total / HITS_PER_PAGE), fetch, first=search_page(query, first, start=0, total=total))
        await Paginator(source, owner_id=interaction.user.id).send(interaction)

    @app_commands.command(name="load")
    @app_commands.describe(file="A post file, an RSS/Atom feed file or a full treaty text", name="A treaty's name (default: its title line)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def load(self, interaction: discord.Interaction, file: discord.Attachment, name: str | None = None) -> None:
        """Load an uploaded post file, feed or treaty text into the store."""
        if file.size > MAX_UPLOAD_BYTES:
            raise UserFacingError(f"That file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB, the limit for a post, feed or treaty file.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        source = sources.Source(f"upload:{file.filename}", data=await file.read())
        report = await self.db.call(
            loading.load, sources=[source], scope=interaction.guild_id, now=discord.utils.utcnow(), treaty_name=(name or "").strip() or None
        )
        [result] = report.results
        log.info("upload %r by %s in guild %s: %s", file.filename, interaction.user.id, interaction.guild_id, result)
        text = load_report(result, filename=file.filename)
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


    @app_commands.command(name="export")
    @app_commands.rename(fmt="format")
    @app_commands.describe(fmt="text: post files that load back (default); json: one JSON file a post")
    @app_commands.choices(fmt=[app_commands.Choice(name="text", value="text"), app_commands.Choice(name="json", value="json")])
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def export(self, interaction: discord.Interaction, fmt: app_commands.Choice[str] | None = None) -> None:
        """Download this server's posts with their comments as a zip of post files (or JSON)."""
        chosen = fmt.value if fmt else "text"
        await interaction.response.defer(ephemeral=True, thinking=True)
        archive = await self.db.call(
            export.export_archive, server=interaction.guild_id, fmt=chosen, now=discord.utils.utcnow(), max_bytes=interaction.guild.filesize_limit
        )
        file = discord.File(io.BytesIO(archive.data), filename=archive.filename)
        await interaction.followup.send(export_report(archive, fmt=chosen), file=file, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Posts(bot))
