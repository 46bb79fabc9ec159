"""Reading an inbound e-mail: who sent it, what it answers, and its words.

Only what routing needs is taken out (delivery.mail_routing decides what the message is), and
the attachments, which engine.mail_in joins to the complaint under the upload rules.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser

# The headers that mark automatic mail (RFC 3834, and the ones vacation programs use).
AUTO_HEADERS = ("auto-submitted", "precedence", "x-autoreply", "x-autorespond", "return-path")
_ANGLE_ID = re.compile(r"<[^<>\s]+>")
# A Message-ID we can keep and compare: printable ASCII in angle brackets, within a header line.
_MESSAGE_ID = re.compile(r"^<[!-~]{1,996}>$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
# Where quoted history starts in an answer: "On <date>, <someone> wrote:", Outlook's separator
# and header block, and the Chinese clients' "在 … 写道：".
_HISTORY_STARTS = re.compile(
    r"^\s*(On\s.+wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|_{10,}\s*$|From:\s.+|发件人[:：]"
    r"|在.+写道[:：]\s*$|-{2,}\s*原始邮件\s*-{2,})",
    re.IGNORECASE,
)


class Unparsable(ValueError):
    """A message that cannot be read as e-mail; the message says what is missing."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content_type: str  # as the sender declared it; the upload rules read the content itself
    data: bytes


@dataclass(frozen=True)
class InboundMail:
    message_id: str | None  # as sent, with its angle brackets
    from_name: str
    from_address: str
    to_addresses: tuple[str, ...]  # To and Cc: which of our addresses it was written to
    subject: str
    text: str  # text/plain preferred, else the text of the HTML part
    answers: tuple[str, ...]  # the Message-IDs of In-Reply-To, then References
    headers: dict[str, str]  # the AUTO_HEADERS present, lower-case names
    content_type: str
    attachments: tuple[MailAttachment, ...]  # joined to the complaint (engine.mail_in)


def parse(raw: bytes) -> InboundMail:
    """Raises Unparsable for what is not an e-mail with a sender."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        if not msg.keys():
            raise Unparsable("no header lines")
        return _read(msg)
    except Unparsable:
        raise
    except Exception as exc:  # the email package fails lazily and in many ways on bad input
        raise Unparsable(f"cannot read the message ({type(exc).__name__})") from None


def _read(msg: EmailMessage) -> InboundMail:
    sender = msg["From"]
    addresses = getattr(sender, "addresses", ()) if sender is not None else ()
    if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise Unparsable("no sender address in From")
    message_id = str(msg["Message-ID"] or "").strip()
    answers = [*_ids(msg["In-Reply-To"]), *_ids(msg["References"])]
    return InboundMail(
        message_id=message_id if _MESSAGE_ID.match(message_id) else None,
        from_name=addresses[0].display_name.strip(),
        from_address=addresses[0].addr_spec,
        to_addresses=tuple(_addresses(msg, "To", "Cc")),
        subject=" ".join(str(msg["Subject"] or "").split()),
        text=_text(msg),
        answers=tuple(dict.fromkeys(answers)),
        headers={name: str(msg[name]).strip() for name in AUTO_HEADERS if msg[name] is not None},
        content_type=msg.get_content_type(),
        attachments=tuple(_attachments(msg)) if msg.is_multipart() else (),
    )


def _attachments(msg: EmailMessage) -> list[MailAttachment]:
    found = []
    for part in msg.iter_attachments():
        data = part.get_payload(decode=True)
        if isinstance(data, bytes) and data:
            name = part.get_filename() or "attachment"
            found.append(MailAttachment(name, part.get_content_type(), data))
    return found


def _addresses(msg: EmailMessage, *names: str) -> list[str]:
    found = []
    for name in names:
        for header in msg.get_all(name) or ():
            found += [a.addr_spec for a in getattr(header, "addresses", ()) if a.addr_spec]
    return found


def _ids(header: object) -> list[str]:
    return _ANGLE_ID.findall(str(header)) if header is not None else []


def _text(msg: EmailMessage) -> str:
    body = msg.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    content = body.get_content()
    if not isinstance(content, str):
        return ""
    if body.get_content_subtype() == "html":
        content = html_text(content)
    return content.replace("\r\n", "\n").strip()


class _Stripper(HTMLParser):
    _BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "blockquote"})
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The words of an HTML body, a line per block; no markup, scripts or styles."""
    stripper = _Stripper()
    stripper.feed(html)
    stripper.close()
    lines = (" ".join(line.split()) for line in "".join(stripper.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def new_text(reply: str) -> str:
    """What an answer adds: the text before its quoted history, without quoted ("> ") lines."""
    kept: list[str] = []
    for line in reply.splitlines():
        if _HISTORY_STARTS.match(line):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip()


def locale_of(text: str) -> str:
    """The locale "zh" when most letters are Chinese, Japanese or Korean characters, else "en"."""
    letters = [ch for ch in text if ch.isalpha()]
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return "zh" if letters and cjk * 2 > len(letters) else "en"
