"""What an attachment may be: its size and its type, told by the content's first bytes.

The declared type and the file's extension are the sender's word and are never trusted: an
executable named photo.jpg is refused because it does not start like a JPEG. The type recorded
and served back is the one the content shows.
"""

from __future__ import annotations

from dataclasses import dataclass

# type -> its signatures: any one of them, each a set of (offset, bytes) that must all match
_MAGIC: dict[str, tuple[tuple[tuple[int, bytes], ...], ...]] = {
    "image/jpeg": (((0, b"\xff\xd8\xff"),),),
    "image/png": (((0, b"\x89PNG\r\n\x1a\n"),),),
    "image/gif": (((0, b"GIF87a"),), ((0, b"GIF89a"),)),
    "image/webp": (((0, b"RIFF"), (8, b"WEBP")),),
    "application/pdf": (((0, b"%PDF-"),),),
}
KNOWN_TYPES = (*_MAGIC, "text/plain")
FILENAME_MAX = 255
DEFAULT_MAX_SIZE = 10 * 1024 * 1024  # COMPLAINTS_ATTACHMENT_MAX_BYTES' default


class UploadRefused(ValueError):
    """An attachment the rules refuse; `status` is the HTTP answer (413, 415, 422)."""

    def __init__(self, status: int, field: str, rule: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.rule, self.message = status, field, rule, message


@dataclass(frozen=True)
class UploadRules:
    max_size: int
    allowed: frozenset[str]

    def check(self, filename: str, data: bytes) -> str:
        """The content's type, or UploadRefused naming the field and the rule."""
        if not data:
            raise UploadRefused(422, "file", "empty", "file: the file is empty")
        if len(data) > self.max_size:
            raise UploadRefused(
                413, "file", "max_size", f"file: larger than the limit of {self.max_size} bytes"
            )
        if len(filename) > FILENAME_MAX or any(ord(ch) < 32 or ord(ch) == 127 for ch in filename):
            raise UploadRefused(
                422,
                "filename",
                "invalid",
                f"filename: at most {FILENAME_MAX} characters, no control characters",
            )
        kind = sniff(data)
        if kind is None or kind not in self.allowed:
            raise UploadRefused(
                415,
                "file",
                "content_type",
                f"file: the content is not one of the accepted types "
                f"({', '.join(sorted(self.allowed))}); the type is read from the content, "
                "not the name",
            )
        return kind


def sniff(data: bytes) -> str | None:
    """The type the content's first bytes show, or None."""
    for kind, signatures in _MAGIC.items():
        for parts in signatures:
            if all(data[offset : offset + len(magic)] == magic for offset, magic in parts):
                return kind
    return "text/plain" if _is_text(data) else None


def _is_text(data: bytes) -> bool:
    # UTF-8 without control characters other than tab and line breaks: nothing a program reads
    # as anything but text.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 32 and ch not in "\t\r\n" or ord(ch) == 127 for ch in text)


def parse_types(text: str, setting: str) -> frozenset[str]:
    """The allowed types setting (comma-separated); a ValueError names the setting and rule."""
    types = frozenset(t.strip().lower() for t in text.split(",") if t.strip())
    unknown = sorted(types - set(KNOWN_TYPES))
    if not types or unknown:
        raise ValueError(
            f"{setting}: must list types from {', '.join(KNOWN_TYPES)}; unknown: {unknown}"
        )
    return types


DEFAULT_RULES = UploadRules(max_size=DEFAULT_MAX_SIZE, allowed=frozenset(KNOWN_TYPES))
