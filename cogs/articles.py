"""/article and /articles: quote a treaty article, list the articles known; article references in chat.

The work is a few indexed lookups, so the commands answer directly: not deferring keeps user
errors (an unknown article or treaty) ephemeral.

In a post's discussion thread, a message citing an article known here gets one reply with the
article's card (needs the message content intent; /discussion quotes turns it off). The
"Quote articles" message menu answers the same for any message, ephemerally, without the intent.
"""

from __future__ import annotations

import logging
import time

import discord
from discord import app_commands
from discord.ext import commands

from bot.client import PostBot
from bot.errors import UserFacingError
from bot.render import NO_MENTIONS, autocomplete
from bot.render.articles import answers_pages, article_card, articles_pages
from bot.services import articles, chat_references
from bot.services.views import ArticleAnswer
from cogs._options import scope_of, treaty_autocomplete
from cogs._ui import Paginator, answer_soon

log = logging.getLogger(__name__)

NOTHING_CITED = "That message cites no treaty article known here."
# A busy thread (or a raid) must not become a query and a reply per message: a thread's citing
# messages are looked up at most LOOKUPS per LOOKUP_WINDOW seconds, and an article quoted in a
# thread is not quoted there again for REQUOTE_AFTER seconds (its card is just above). The
# "Quote articles" menu always answers. In memory: a thread's server lives on one shard.
LOOKUPS, LOOKUP_WINDOW = 5, 10.0
REQUOTE_AFTER = 600.0


def message_text(message: discord.Message) -> str:
    """What a message says: its text, and the text of its embeds (a quoted or forwarded article)."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
    return "\n\n".join(p for p in parts if p)


class Articles(commands.Cog):
    """Quoting treaty articles from loaded texts and from the posts that cite them."""

    def __init__(self, bot: PostBot) -> None:
        self.bot = bot
        self.db = bot.database
        self.quote_menu = app_commands.ContextMenu(name="Quote articles", callback=self.quote_articles)
        self.lookups = commands.CooldownMapping.from_cooldown(LOOKUPS, LOOKUP_WINDOW, commands.BucketType.channel)
        self.quoted: dict[tuple[int, str], float] = {}  # (thread id, card heading) -> when quoted (monotonic)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.quote_menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.quote_menu.name, type=self.quote_menu.type)

    @app_commands.command()
    @app_commands.describe(
        number="The article: 5, V, 2(4), 42.7, 8 bis, or a range such as 3-5",
        treaty="The treaty (name or alias); default: the treaty whose article the posts here cite most",
    )
    async def article(self, interaction: discord.Interaction, number: app_commands.Range[str, 1, 40], treaty: str | None = None) -> None:
        """Quote a treaty article (or each of a range): its text, the treaty, and the posts that cite it."""
        found = await answer_soon(interaction, self.db.call(articles.quote_articles, query=number, treaty=treaty, scope=scope_of(interaction)))
        await Paginator(answers_pages(found), owner_id=interaction.user.id).send(interaction)

    @article.autocomplete("treaty")
    async def article_treaty_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        """Known treaties resembling what was typed; with the article typed, those that have it first."""
        number = getattr(interaction.namespace, "number", None)
        choices = await self.db.call(
            articles.treaty_choices, scope=scope_of(interaction), current=str(current or ""), number=str(number) if number else None
        )
        return autocomplete(choices)

    @article.autocomplete("number")
    async def article_number_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        treaty = getattr(interaction.namespace, "treaty", None)
        choices = await self.db.call(articles.article_choices, treaty=treaty, current=str(current or ""), scope=scope_of(interaction))
        return autocomplete(choices)

    @app_commands.command()
    @app_commands.describe(treaty="Only this treaty (name or alias), with a preview of each article")
    @app_commands.autocomplete(treaty=treaty_autocomplete)
    async def articles(self, interaction: discord.Interaction, treaty: str | None = None) -> None:
        """List the treaties known and their articles."""
        known = await answer_soon(interaction, self.db.call(articles.list_articles, treaty=treaty, scope=scope_of(interaction)))
        if not known:
            raise UserFacingError(articles.NOTHING_KNOWN)
        pages = articles_pages(known, detailed=bool(treaty and treaty.strip()))
        await Paginator(pages, owner_id=interaction.user.id).send(interaction)

    # --- references in chat -------------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A human message in a post's thread citing known articles: one reply with their cards."""
        if not self.bot.intents.message_content or message.guild is None or not isinstance(message.channel, discord.Thread):
            return
        if message.author.bot or message.webhook_id is not None or message.is_system():
            return
        if not chat_references.might_cite(message.content) or self.lookups.update_rate_limit(message):
            return
        cited = chat_references.ChatMessage(
            text=message.content, message_id=message.id, guild_id=message.guild.id, thread_id=message.channel.id
        )
        answers = await self.db.call(chat_references.thread_answers, message=cited, now=discord.utils.utcnow())
        answers = self._not_quoted_lately(message.channel.id, answers)
        if not answers:
            return
        try:
            await message.reply(embeds=[article_card(a) for a in answers], mention_author=False, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:  # no permission to reply here, the message is gone, ...
            log.warning("could not answer the article references of message %s in %s: %s", message.id, message.channel.id, exc)

    def _not_quoted_lately(self, thread_id: int, answers: list[ArticleAnswer]) -> list[ArticleAnswer]:
        """The answers whose article this thread has not seen quoted within REQUOTE_AFTER; marks them quoted."""
        now = time.monotonic()
        self.quoted = {key: at for key, at in self.quoted.items() if now - at < REQUOTE_AFTER}
        fresh = [a for a in answers if (thread_id, a.heading) not in self.quoted]
        self.quoted.update({(thread_id, a.heading): now for a in fresh})
        return fresh

    async def quote_articles(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """Quote the treaty articles this message cites (only you see the answer)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        thread_id = interaction.channel.id if isinstance(interaction.channel, discord.Thread) else None
        cited = chat_references.ChatMessage(text=message_text(message), message_id=message.id, guild_id=interaction.guild_id,
                                            thread_id=thread_id)
        answers = await self.db.call(chat_references.menu_answers, message=cited)
        if not answers:
            await interaction.followup.send(NOTHING_CITED, ephemeral=True)
            return
        await interaction.followup.send(embeds=[article_card(a) for a in answers], ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: PostBot) -> None:
    await bot.add_cog(Articles(bot))
