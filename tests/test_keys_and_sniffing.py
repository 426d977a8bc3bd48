"""Unit tests for temporary keys, filename sanitising, content sniffing and file restrictions."""

from __future__ import annotations

import io
import re
import zipfile

from django.core.exceptions import SuspiciousFileOperation
from django.utils import timezone
import pytest

from alliance_platform.storage.async_uploads.keys import (
    MAX_FILENAME_LENGTH,
    TEMPORARY_PREFIX,
    generate_temporary_path,
    is_temporary_path,
    sanitize_filename,
    storage_safe_filename,
)
from alliance_platform.storage.async_uploads.restrictions import FileRestrictions
from alliance_platform.storage.async_uploads.sniffing import SNIFF_LENGTH, sniff_content_type
from tests.conftest import PDF_BYTES, png_bytes

SAFE_NAME = re.compile(r"[A-Za-z0-9._-]+")


def image_bytes(format: str) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "blue").save(buffer, format=format)
    return buffer.getvalue()


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


# sanitize_filename


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\report.pdf", "report.pdf"),
        ("dir/sub/", ""),
        ("..", ""),
        (".", ""),
        ("...", ""),
        ("", ""),
        ("a\x00b.pdf", "ab.pdf"),
        ("line\nbreak.pdf", "linebreak.pdf"),
        ("tab\there.pdf", "tabhere.pdf"),
        ("\x1b[31mred.pdf", "[31mred.pdf"),
        ("evil\u202efdp.exe", "evilfdp.exe"),
        ("zero\u200bwidth.pdf", "zerowidth.pdf"),
        ("  padded.pdf  ", "padded.pdf"),
        (".hidden", "hidden"),
        ("résumé.pdf", "résumé.pdf"),
        ("report final (1).pdf", "report final (1).pdf"),
    ],
)
def test_sanitize_filename(filename, expected):
    assert sanitize_filename(filename) == expected


def test_sanitize_filename_truncates_long_names_keeping_the_extension():
    name = sanitize_filename("a" * 1000 + ".pdf")
    assert len(name) == MAX_FILENAME_LENGTH
    assert name.endswith("a.pdf")


def test_sanitize_filename_caps_an_absurd_extension():
    name = sanitize_filename("a." + "b" * 1000)
    assert len(name) <= MAX_FILENAME_LENGTH
    assert name.startswith("a")


# storage_safe_filename


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("report.pdf", "report.pdf"),
        ("résumé.pdf", "resume.pdf"),
        ("Ünïcödé Name.txt", "Unicode_Name.txt"),
        ("report final (1).pdf", "report_final__1.pdf"),
        ("<b>bold</b>.html", "b.html"),
        ("../../etc/passwd", "passwd"),
        ("a;b&c|d$e.pdf", "a_b_c_d_e.pdf"),
        ("???.pdf", "file.pdf"),
    ],
)
def test_storage_safe_filename(filename, expected):
    assert storage_safe_filename(filename) == expected


@pytest.mark.parametrize("filename", ["日本語.pdf", "Отчёт.pdf", "😀.pdf", "報告書 2024.docx"])
def test_storage_safe_filename_keeps_the_extension_of_non_latin_names(filename):
    safe = storage_safe_filename(filename)
    assert SAFE_NAME.fullmatch(safe), safe
    assert safe.endswith("." + filename.rsplit(".", 1)[1]), safe
    assert not safe.startswith(".")


@pytest.mark.parametrize(
    "filename", ["a\x00b.pdf", "x/../../y.pdf", "we ird\t\n.pdf", "\u202e.pdf", "..\\x.pdf", "é" * 300 + ".pdf"]
)
def test_storage_safe_filename_uses_a_conservative_alphabet(filename):
    safe = storage_safe_filename(filename)
    assert SAFE_NAME.fullmatch(safe), safe
    assert ".." not in safe
    assert not safe.startswith(".")


# generate_temporary_path


def test_generate_temporary_path_has_the_documented_shape():
    before = timezone.now()
    key = generate_temporary_path("report.pdf")
    after = timezone.now()
    match = re.fullmatch(r"async-temp-files/(\d{4}/\d{2}/\d{2})/([0-9a-f]+)-report\.pdf", key)
    assert match, key
    assert match.group(1) in {f"{before:%Y/%m/%d}", f"{after:%Y/%m/%d}"}
    assert len(match.group(2)) >= 16


def test_generate_temporary_path_keeps_the_extension_of_a_non_latin_name():
    key = generate_temporary_path("日本語.pdf", max_length=100)
    assert key.endswith(".pdf"), key
    assert SAFE_NAME.fullmatch(key.rsplit("/", 1)[1]), key


def test_generate_temporary_path_is_unique():
    keys = {generate_temporary_path("report.pdf") for _ in range(200)}
    assert len(keys) == 200


@pytest.mark.parametrize("filename", ["../../etc/passwd", "..\\..\\boot.ini", "a\x00.pdf", "évil\u202e.pdf"])
def test_generate_temporary_path_never_escapes_its_directory(filename):
    key = generate_temporary_path(filename)
    assert key.startswith(TEMPORARY_PREFIX)
    last = key.rsplit("/", 1)[1]
    assert key.count("/") == 4
    assert SAFE_NAME.fullmatch(last), key
    assert ".." not in last


@pytest.mark.parametrize("max_length", [500, 100, 60, 54])
def test_generate_temporary_path_truncates_the_stem_to_fit_max_length_keeping_the_extension(max_length):
    key = generate_temporary_path("s" * 1000 + ".pdf", max_length=max_length)
    assert len(key) <= max_length
    assert key.endswith("s.pdf")


def test_generate_temporary_path_fits_exactly_with_one_stem_character():
    prefix_length = len(generate_temporary_path("x", max_length=None)) - 1
    key = generate_temporary_path("long-name.pdf", max_length=prefix_length + len(".pdf") + 1)
    assert key.endswith("-l.pdf")


def test_generate_temporary_path_raises_when_prefix_and_extension_cannot_fit():
    prefix_length = len(generate_temporary_path("x", max_length=None)) - 1
    with pytest.raises(SuspiciousFileOperation):
        generate_temporary_path("long-name.pdf", max_length=prefix_length + len(".pdf"))
    with pytest.raises(SuspiciousFileOperation):
        generate_temporary_path("a." + "b" * 15, max_length=60)
    with pytest.raises(SuspiciousFileOperation):
        generate_temporary_path("report.pdf", max_length=10)


def test_generate_temporary_path_without_max_length_keeps_the_last_component_within_the_filesystem_limit():
    key = generate_temporary_path("n" * 1000 + ".pdf")
    assert key.endswith("n.pdf")
    assert len(key.rsplit("/", 1)[1]) == MAX_FILENAME_LENGTH


# is_temporary_path


@pytest.mark.parametrize(
    "name, expected",
    [
        ("async-temp-files/2026/01/01/abc-report.pdf", True),
        (generate_temporary_path("x.pdf"), True),
        ("documents/report.pdf", False),
        ("documents/async-temp-files/report.pdf", False),
        ("/async-temp-files/2026/01/01/abc-report.pdf", False),
        ("async-temp-filesX/2026/report.pdf", False),
        ("async-temp-files", False),
        ("", False),
        (None, False),
    ],
)
def test_is_temporary_path(name, expected):
    assert is_temporary_path(name) is expected


# sniff_content_type


def test_sniff_pdf():
    assert sniff_content_type(PDF_BYTES) == "application/pdf"


def test_sniff_png():
    assert sniff_content_type(png_bytes()) == "image/png"


def test_sniff_jpeg():
    assert sniff_content_type(image_bytes("JPEG")) == "image/jpeg"


def test_sniff_gif():
    assert sniff_content_type(image_bytes("GIF")) == "image/gif"


def test_sniff_zip():
    assert sniff_content_type(zip_bytes()) == "application/zip"
    assert sniff_content_type(b"PK\x03\x04rest") == "application/zip"


@pytest.mark.parametrize(
    "text", [b"hello, world\n", b"name,amount\nalice,3\n", "naïve café\n".encode(), b"\xef\xbb\xbfbom"]
)
def test_sniff_text(text):
    assert sniff_content_type(text) == "text/plain"


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_sniff_utf8_cut_in_the_middle_of_a_character_is_still_text(cut):
    sample = ("é" * 10 + "😀").encode()
    assert sniff_content_type(sample[:-cut]) == "text/plain"


def test_sniff_a_full_sample_of_text_cut_mid_character():
    sample = ("abc€" * SNIFF_LENGTH).encode()[:SNIFF_LENGTH]
    assert sample[-1] >= 0x80
    assert sniff_content_type(sample) == "text/plain"


@pytest.mark.parametrize(
    "head",
    [b"\x00\x01\x02\x03\x04", b"text with a \x00 NUL byte", b"abc\x80\x81\x82defghijklmnop", bytes(range(256))],
)
def test_sniff_unknown_binary_is_none(head):
    assert sniff_content_type(head) is None


# FileRestrictions


def test_pdf_restriction_refuses_zip_content_named_pdf():
    restrictions = FileRestrictions([".pdf"])
    assert restrictions.allows_declared("report.pdf", None)
    assert restrictions.allows_content("report.pdf", "application/pdf")
    assert not restrictions.allows_content("report.pdf", "application/zip")
    assert not restrictions.allows_content("report.pdf", None)
    assert not restrictions.allows_content("report.pdf", "text/plain")


def test_extension_restriction_refuses_other_extensions():
    restrictions = FileRestrictions([".pdf"])
    assert not restrictions.allows_declared("report.exe", None)
    assert not restrictions.allows_declared("report", None)
    assert not restrictions.allows_content("report.exe", "application/pdf")


def test_restrictions_ignore_case():
    restrictions = FileRestrictions([".PDF"])
    assert restrictions.allows_declared("REPORT.Pdf", None)
    assert restrictions.allows_content("REPORT.Pdf", "application/pdf")


def test_image_wildcard_restriction():
    restrictions = FileRestrictions(["image/*"])
    assert restrictions.allows_declared("pic.png", None)
    assert restrictions.allows_declared("pic.jpg", "image/jpeg")
    assert not restrictions.allows_declared("report.pdf", None)
    assert restrictions.allows_content("pic.png", "image/png")
    assert restrictions.allows_content("pic.jpg", "image/jpeg")
    assert not restrictions.allows_content("pic.png", "application/pdf")
    assert not restrictions.allows_content("pic.png", "application/zip")
    assert not restrictions.allows_content("pic.png", None)
    assert not restrictions.allows_content("pic.png", "text/plain")


def test_csv_restriction_accepts_a_csv_text_file():
    restrictions = FileRestrictions(["text/csv"])
    assert restrictions.allows_declared("data.csv", None)
    assert restrictions.allows_declared("data.csv", "text/csv")
    assert restrictions.allows_content("data.csv", sniff_content_type(b"name,amount\nalice,3\n"))
    assert not restrictions.allows_content("data.csv", "application/zip")
    assert not restrictions.allows_content("data.csv", None)
    assert not restrictions.allows_content("notes.txt", "text/plain")
    assert not restrictions.allows_declared("notes.txt", None)


def test_docx_restriction_accepts_zip_content():
    restrictions = FileRestrictions([".docx"])
    assert restrictions.allows_content("letter.docx", sniff_content_type(zip_bytes()))
    assert not restrictions.allows_content("letter.docx", "application/pdf")


@pytest.mark.parametrize("entries", [None, [], ["", "  "]])
def test_empty_restrictions_allow_everything(entries):
    restrictions = FileRestrictions(entries)
    assert not restrictions
    assert restrictions.allows_declared("anything.exe", None)
    assert restrictions.allows_declared("noextension", "application/octet-stream")
    assert restrictions.allows_content("anything.exe", None)
    assert restrictions.allows_content("report.pdf", "application/zip")


def test_refusal_names_the_real_reason():
    restrictions = FileRestrictions([".pdf", ".txt", "image/*"])
    assert restrictions.refusal("x.pdf", "application/pdf") is None
    mismatch = restrictions.refusal("x.pdf", "image/png")
    assert mismatch.code == "content_mismatch"
    assert (str(mismatch.params["expected"]), str(mismatch.params["actual"])) == ("a PDF document", "a PNG image")
    assert str(restrictions.refusal("notes.txt", None).params["actual"]) == "a file of a type that was not recognised"
    # A Word file is a ZIP archive inside: it is named by its extension, not as an archive.
    word = FileRestrictions([".docx"]).refusal("letter.docx", "image/png")
    assert str(word.params["expected"]) == "what its extension “.docx” says"
    not_allowed = restrictions.refusal("scan", "application/zip")
    assert (not_allowed.code, not_allowed.params) == ("invalid_type", {"allowed": ".pdf, .txt, image/*"})
