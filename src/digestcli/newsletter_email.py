"""An issue's email: its HTML with every style moved onto the elements, and the .eml that carries it.

Email clients drop <style> blocks and never fetch stylesheets, so css-inline (a maintained inliner)
writes the template's stylesheet into style="" attributes. Pure: never fetches a stylesheet, never
sends mail; the .eml is a draft with no sender or recipient, for the writer's own mail tool.
"""

from __future__ import annotations

from datetime import datetime, timezone


def inline_styles(html: str) -> str:
    """``html`` with the rules of its <style> elements written onto each element they match, the <style>
    elements removed, and no remote stylesheet loaded."""
    import css_inline

    inliner = css_inline.CSSInliner(keep_style_tags=False, keep_link_tags=False, load_remote_stylesheets=False)
    return inliner.inline(html)


def email_message(subject: str, date: str, plain_text: str, html: str) -> bytes:
    """A multipart/alternative message (plain text first, HTML last: a client shows the last it can) as
    .eml bytes, marked unsent so that a mail program opens it as a draft to address and send."""
    from email.message import EmailMessage
    from email.policy import SMTP
    from email.utils import format_datetime

    message = EmailMessage(policy=SMTP)
    message["Subject"] = " ".join(subject.split())
    message["Date"] = format_datetime(_midnight(date))
    message["MIME-Version"] = "1.0"
    message["X-Unsent"] = "1"  # Outlook and Thunderbird open it as a message to send
    message.set_content(plain_text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    return message.as_bytes()


def _midnight(date: str) -> datetime:
    """The issue's date at 00:00 UTC (the file is the same every build); today when it is not a date."""
    try:
        return datetime.fromisoformat(date).replace(tzinfo=timezone.utc)
    except ValueError:
        return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
