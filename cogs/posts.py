"""/post show, /post list, /search and /load: find and read stored posts, add new ones by upload.

Answers come from bot.services.posts and bot.services.search (the CLI's `posts`, `search` and `load`
use the same). /post list fetches each page when it is first shown, so a large store is never
loaded at once. /load answers ephemerally: it is an admin's report, not news for the channel.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.errors import UserFacingError
from bot.paginator import LazyPaginator, Page, Paginator
from bot.render import CHOICE_NAME_LIMIT, EMBED_TITLE_LIMIT, NO_MENTIONS, field_value, shorten
from bot.services import comments as comment_service
from bot.services import posts as service
from bot.services import search as search_service
from bot.services.search import SearchHit
from bot.store import PostSummary

log = logging.getLogger(__name__)

COLOUR = discord.Colour.dark_blue()
HITS_PER_PAGE = 5
MAX_QUERY_LENGTH = 200


def _escape(text: str) -> str:
    return discord.utils.escape_markdown(text)


async def post_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Titles matching what the user typed, newest first, with their dates; the value is the post id."""
    db = interaction.client.database
    posts = await db.run(comment_service.post_choices, db, current=current)
    return [app_commands.Choice(name=p.label(CHOICE_NAME_LIMIT), value=str(p.id)) for p in posts]


def post_embed(post: service.PostDetails) -> discord.Embed:
    link = post.link if post.link and post.link.startswith(("http://", "https://")) and len(post.link) <= 2000 else None
    embed = discord.Embed(title=shorten(post.title, EMBED_TITLE_LIMIT), url=link, description=post.summary or None, colour=COLOUR)
    embed.add_field(name="Date", value=f"{post.date:%A, %B} {post.date.day}, {post.date.year}", inline=True)
    if post.source:
        embed.add_field(name="Source", value=field_value(post.source), inline=True)
    embed.add_field(name="Comments", value=str(post.comment_count), inline=True)
    if post.headline:
        embed.add_field(name="Headline", value=field_value(post.headline), inline=False)
    if post.articles:
        embed.add_field(name="Articles quoted", value=field_value("\n".join(post.articles)), inline=False)
    discussion = f"[Open the thread]({post.thread_url})" if post.thread_url else "No thread yet: start one with `/discuss`."
    embed.add_field(name="Discussion", value=discussion, inline=False)
    embed.set_footer(text=f"Post #{post.id}")
    return embed


def list_page(posts: list[PostSummary], *, page: int, pages: int) -> Page:
    lines = []
    for p in posts:
        source = f" · {_escape(shorten(p.source, 60))}" if p.source else ""
        lines.append(f"**{_escape(shorten(p.title, 150))}**\n{p.date.isoformat()}{source} · 💬 {p.comment_count} · #{p.id}")
    embed = discord.Embed(title="Posts, newest first", description="\n\n".join(lines), colour=COLOUR)
    embed.set_footer(text=f"Page {page + 1} of {pages} · /post show to read one")
    return [embed]


def hit_block(number: int, hit: SearchHit) -> str:
    """One hit: what it belongs to, then its snippet (already escaped markdown, matches in bold)."""
    if hit.kind == search_service.POST:
        title = hit.heading if len(hit.title) <= 200 else _escape(shorten(hit.title, 200))
        where = f"📰 {title} ({hit.date.isoformat()})"
    elif hit.kind == search_service.COMMENT:
        where = f"💬 comment by {_escape(shorten(hit.author or '?', 80))} on *{_escape(shorten(hit.title, 150))}* ({hit.date.isoformat()})"
    else:
        where = f"📜 Article {_escape(hit.article or '?')} of {_escape(shorten(hit.title, 150))}"
    snippet = f"\n> {hit.snippet}" if hit.snippet else ""
    return f"**{number}.** {where}{snippet}"


def search_pages(query: str, hits: list[SearchHit]) -> list[Page]:
    title = shorten(f"Search: {query}", EMBED_TITLE_LIMIT)
    pages = []
    for start in range(0, len(hits), HITS_PER_PAGE):
        blocks = [hit_block(start + i + 1, h) for i, h in enumerate(hits[start : start + HITS_PER_PAGE])]
        embed = discord.Embed(title=title, description="\n\n".join(blocks), colour=COLOUR)
        best = "1 match" if len(hits) == 1 else f"{len(hits)} best matches"
        embed.set_footer(text=f"{best} · posts, comments and treaty articles")
        pages.append([embed])
    return pages


def upload_report(filename: str, result: service.UploadResult) -> str:
    name = f"`{shorten(filename, 100).replace('`', '')}`"
    if result.kind is None:
        return f"❌ Rejected {name}: {_escape(shorten(result.error or 'unknown', 1500))}"
    if result.kind == service.TREATY:
        replaced = f", replacing {result.replaced}" if result.replaced else ""
        return f"📜 {name} is a **treaty text**: {_escape(result.treaty)} loaded with {result.articles} articles{replaced}."
    kind = "a **feed**" if result.kind == service.FEED else "a **post file**"
    if result.error:
        return f"❌ {name} looks like {kind} but was rejected: {_escape(shorten(result.error, 1500))}"
    counts = ", ".join(f"{n} {status}" for status, n in result.counts.items())
    lines = [f"✅ {name} is {kind}: {counts}."]
    lines += [f"⚠️ {_escape(shorten(w, 300))}" for w in result.warnings[:5]]
    if len(result.warnings) > 5:
        lines.append(f"…and {len(result.warnings) - 5} more warnings")
    return "\n".join(lines)  # within MESSAGE_LIMIT: a short first line and at most 5 short warnings


class Posts(commands.Cog):
    """Reading, listing, searching and uploading posts."""

    post = app_commands.Group(name="post", description="Read and list the stored posts")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def db(self):
        return self.bot.database

    @post.command(name="show")
    @app_commands.describe(post="The post (type to search titles)")
    @app_commands.autocomplete(post=post_autocomplete)
    async def show(self, interaction: discord.Interaction, post: str) -> None:
        """Show a post: date, source, summary, articles it quotes, comments and its thread."""
        found = await self.db.run(comment_service.resolve_post, self.db, value=post)
        await interaction.response.defer(thinking=True)
        details = await self.db.run(service.post_details, self.db, post_id=found.id, guild_id=interaction.guild_id)
        await interaction.followup.send(embed=post_embed(details), allowed_mentions=NO_MENTIONS)

    @post.command(name="list")
    async def list_posts(self, interaction: discord.Interaction) -> None:
        """List the stored posts, newest first, 10 a page."""
        count = await self.db.run(service.page_count, self.db)
        if not count:
            raise UserFacingError("No posts are stored yet; an admin can add some with `/load`.")
        first = await self.db.run(service.post_page, self.db, page=0)

        async def fetch(index: int) -> Page:
            posts = await self.db.run(service.post_page, self.db, page=index)
            return list_page(posts, page=index, pages=count)

        paginator = LazyPaginator(list_page(first, page=0, pages=count), count, fetch, owner_id=interaction.user.id)
        await paginator.send(interaction)

    @app_commands.command(name="search")
    @app_commands.describe(query="Words to find in posts, comments and treaty articles")
    async def search(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, MAX_QUERY_LENGTH]) -> None:
        """Search posts, comments and treaty articles; the best matches first."""
        search_service.required_terms(query)  # a query without words is answered ephemerally, before deferring
        await interaction.response.defer(thinking=True)
        hits = await self.db.run(search_service.search, self.db, query=query)
        if not hits:
            await interaction.followup.send(f"Nothing matches {_escape(shorten(query, 100))}.", allowed_mentions=NO_MENTIONS)
            return
        await Paginator(search_pages(query, hits), owner_id=interaction.user.id).send(interaction)

    @app_commands.command(name="load")
    @app_commands.describe(file="A post file, an RSS/Atom feed file or a full treaty text", name="A treaty's name (default: its title line)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.checks.has_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def load(self, interaction: discord.Interaction, file: discord.Attachment, name: str | None = None) -> None:
        """Load an uploaded post file, feed or treaty text into the store."""
        if file.size > service.MAX_UPLOAD_BYTES:
            raise UserFacingError(f"That file is larger than {service.MAX_UPLOAD_BYTES // (1024 * 1024)} MB; not a post, feed or treaty file.")
        await interaction.response.defer(ephemeral=True, thinking=True)
        data = await file.read()
        result = await self.db.run(service.load_upload, self.db, filename=file.filename, data=data, name=name)
        log.info("upload %r by %s in guild %s: %s", file.filename, interaction.user.id, interaction.guild_id, result)
        await interaction.followup.send(upload_report(file.filename, result), ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Posts(bot))
