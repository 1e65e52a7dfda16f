"""Writing the post file layout (DESIGN.md §2): `format_post` is `parse_post`'s inverse.

Export and the benchmark's generator write posts with it; `load(export(store))` reproduces the
store because `parse_post(format_post(p)) == p` for every post (tests/test_ingest_posts.py).
"""

from __future__ import annotations

import re
import unicodedata

from bot.ingest.dates import format_date, format_time
from bot.ingest.posts import ParsedPost, _escape, _is_structural, _split_header

__all__ = ["format_post", "slugify"]


def slugify(text: str, *, max_length: int = 80) -> str:
    """ASCII, lowercase, dash-separated: "What Putin’s meeting" -> "what-putins-meeting"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['’]", "", ascii_text.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:max_length].rstrip("-") or "post"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _paragraph_lines(text: str) -> list[list[str]]:
    return [
        [line.strip() for line in para.split("\n") if line.strip()]
        for para in text.split("\n\n")
        if para.strip()
    ]


def format_post(post: ParsedPost) -> str:
    """Write the DESIGN §2 layout; ``parse_post`` reads it back to an equal post.

    What does not survive: ``warnings`` (not compared), ``link``/``entry_id`` (no place in
    the layout), the time of "Posted by", label text containing commas, trailing
    whitespace, naive ``posted_at`` (read back as UTC). The count line is written from
    ``declared_comments`` exactly (none when it is None). A server's post starts with a
    "Server: <id>" line; a comment from Discord has "Discord: server G, user U, message M"
    under its header line.
    """
    title = _one_line(post.title)
    if not title:
        raise ValueError("post has no title")
    out = [f"Server: {post.scope}"] if post.scope else []
    out += [format_date(post.date), "", _escape(title), "", ""]

    raw_body = _paragraph_lines(post.body)
    body = [[_escape(line) for line in block] for block in raw_body]
    if body:  # the body's first line loses one leading backslash whatever follows it
        first = raw_body[0][0]
        body[0][0] = "\\" + first if first.startswith("\\") or _is_structural(first) else first
    headline = _one_line(post.headline) if post.headline else None
    source = _one_line(post.source) if post.source else None
    plain = [[x for x in (headline, source) if x]] if (headline or source) else []

    header = plain
    if _split_header(plain + body, title) != (headline, source, len(plain)):
        if plain:
            header = [[f"{kind}: {value}" for kind, value in (("Headline", headline), ("Source", source)) if value]]
        elif not body[0][0].startswith("\\"):
            body[0][0] = "\\" + body[0][0]
    for block in header:
        out.extend(block)
        out += ["", ""]
    for block in body:
        out.extend(block)
        out.append("")
    if post.truncated:
        out += ["More...", ""]
    if post.author:
        out.append(f"Posted by {_one_line(post.author)}")
    labels = [_one_line(label) for label in post.labels if label.strip()]
    if labels:
        out.append("Labels: " + ", ".join(labels))
    if post.author or labels:
        out.append("")

    if post.declared_comments is not None:
        n = post.declared_comments
        out += ["", "No comments:" if n == 0 else "1 comment:" if n == 1 else f"{n} comments:"]
    for comment in post.comments:
        # Authors cannot start with a backslash: that marks an escaped text line.
        author = _one_line(comment.author).lstrip("\\") or "Anonymous"
        out += ["", f"{author} said..."]
        if comment.discord is not None:
            ids = comment.discord
            extra = "".join(f", {label} {value}" for label, value in (("user", ids.user_id), ("message", ids.message_id)) if value)
            out.append(f"Discord: server {ids.guild_id}{extra}")
        for block in _paragraph_lines(comment.text):
            out.append("")
            out.extend(_escape(line) for line in block)
        if comment.posted_at is not None:
            out += ["", format_time(comment.posted_at)]
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
