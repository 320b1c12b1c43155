"""What a referral letter is, decided by its bytes, never by its name or the browser's say.

Pure (no Django): the caller gives the bytes and the size limit. A letter is a PDF (it begins
with the ``%PDF-`` header and ends with an ``%%EOF`` marker), or a PNG or JPEG image that
Pillow opens and verifies. Anything else (a program renamed .pdf, HTML named .png, an
archive, a polyglot that begins with other bytes) is refused."""

from dataclasses import dataclass
from io import BytesIO

from PIL import Image

# What a letter may be: the content type it is served with and the name's ending.
PDF = ("application/pdf", "pdf")
PNG = ("image/png", "png")
JPEG = ("image/jpeg", "jpg")
IMAGE_FORMATS = {"PNG": PNG, "JPEG": JPEG}
# The PDF header must open the file (the standard allows up to 1024 bytes of junk before it;
# we do not: that slack is what polyglot files use). The end-of-file marker is looked for in
# the last kilobyte, where writers put it, past any trailing whitespace.
PDF_MAGIC = b"%PDF-"
PDF_EOF = b"%%EOF"
REFUSED = "The letter must be a PDF, PNG or JPEG file."


class LetterError(ValueError):
    """The upload is not a letter we take; the message says why for the person sending it."""


@dataclass(frozen=True)
class LetterKind:
    content_type: str
    extension: str


def identify(data: bytes, max_bytes: int) -> LetterKind:
    """The kind of letter ``data`` is, or LetterError."""
    if len(data) > max_bytes:
        raise LetterError(f"The letter is too large: at most {max_bytes // (1024 * 1024)} MB.")
    if not data:
        raise LetterError("The letter file is empty.")
    if data.startswith(PDF_MAGIC):
        if PDF_EOF not in data[-1024:]:
            raise LetterError("This PDF looks damaged or incomplete; please send it again.")
        return LetterKind(*PDF)
    # Only the two image signatures go to Pillow at all: it reads many more formats.
    if data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")):
        return _image(data)
    raise LetterError(REFUSED)


def _image(data: bytes) -> LetterKind:
    try:
        with Image.open(BytesIO(data), formats=list(IMAGE_FORMATS)) as image:
            kind = IMAGE_FORMATS.get(image.format or "")
            image.verify()
    # Pillow reports a broken or hostile image by several exception types (OSError,
    # SyntaxError, ValueError, DecompressionBombError…); each means "not a letter we take".
    except Exception as error:
        raise LetterError(
            "This image could not be read; please send a PDF, PNG or JPEG."
        ) from error
    if kind is None:
        raise LetterError(REFUSED)
    return LetterKind(*kind)
