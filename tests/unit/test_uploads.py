"""What an attachment may be: the type its first bytes show (never its name or declared type),
within the size limit; and the settings that set both, checked at start-up."""

import pytest

from engine.settings import Settings
from engine.uploads import DEFAULT_RULES, KNOWN_TYPES, UploadRefused, UploadRules, sniff

SAMPLES = {
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00",
    "image/gif": b"GIF89a\x01\x00",
    "image/webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "application/pdf": b"%PDF-1.7\n",
    "text/plain": "Model K-200, bought in März\n\tthanks".encode(),
}
NOT_ALLOWED = {
    "a Windows program": b"MZ\x90\x00\x03\x00\x00\x00",
    "a Linux program": b"\x7fELF\x02\x01\x01\x00",
    "a RIFF that is no WebP (a WAV)": b"RIFF\x24\x00\x00\x00WAVEfmt ",
    "a zip (an Office document too)": b"PK\x03\x04\x14\x00",
    "text with a NUL": b"hello\x00world",
}


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_each_type_is_told_by_its_first_bytes(kind):
    assert sniff(SAMPLES[kind]) == kind
    assert DEFAULT_RULES.check("whatever.exe", SAMPLES[kind]) == kind  # the name is not asked


@pytest.mark.parametrize("what", sorted(NOT_ALLOWED))
def test_other_content_is_refused_whatever_its_name(what):
    with pytest.raises(UploadRefused) as refused:
        DEFAULT_RULES.check("photo.jpg", NOT_ALLOWED[what])
    assert (refused.value.status, refused.value.field, refused.value.rule) == (
        415, "file", "content_type",
    )  # fmt: skip


def test_size_emptiness_and_the_name_are_checked():
    rules = UploadRules(max_size=10, allowed=frozenset(KNOWN_TYPES))
    with pytest.raises(UploadRefused) as big:
        rules.check("a.txt", b"x" * 11)
    assert (big.value.status, big.value.rule) == (413, "max_size")
    assert rules.check("a.txt", b"x" * 10) == "text/plain"
    with pytest.raises(UploadRefused) as empty:
        rules.check("a.txt", b"")
    assert (empty.value.status, empty.value.rule) == (422, "empty")
    with pytest.raises(UploadRefused) as name:
        rules.check("a\r\nb.txt", b"x")
    assert (name.value.field, name.value.rule) == ("filename", "invalid")


def test_a_type_left_out_of_the_setting_is_refused():
    rules = Settings(attachment_types="image/png").upload_rules()
    assert rules.check("a.png", SAMPLES["image/png"]) == "image/png"
    with pytest.raises(UploadRefused):
        rules.check("a.jpg", SAMPLES["image/jpeg"])


def test_an_unknown_type_in_the_setting_stops_start_up_naming_it():
    with pytest.raises(ValueError, match="COMPLAINTS_ATTACHMENT_TYPES.*image/bmp"):
        Settings(attachment_types="image/png, image/bmp").upload_rules()
