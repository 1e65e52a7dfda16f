"""/export's answer: what the attached zip holds, and how it loads back."""

from __future__ import annotations

from bot.render import plural
from bot.services.export import Archive


def export_report(archive: Archive, *, fmt: str) -> str:
    parts = [plural(archive.posts, "post") + " of this server's own"]
    if archive.library_posts:
        parts.append(plural(archive.library_posts, "library post") + " members here commented on")
    held = ", and ".join(parts)
    how = (
        "one post file each, in the layout `postbot export` writes: the operator can load them back with `postbot load`"
        if fmt == "text"
        else "one JSON file a post, as `postbot export --format json` writes"
    )
    return (
        f"This server's export: {held}, with {plural(archive.comments, 'comment')} written here "
        f"(other servers' comments are never included). The zip holds {how}."
    )
