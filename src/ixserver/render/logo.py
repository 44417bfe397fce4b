"""An account's logo as it is kept and printed: a PNG or JPEG of at most MAX_BYTES, decoded and
encoded again (Pillow) — so that what is kept is an image and nothing else (no metadata, no
trailing bytes) — within MAX_SIZE pixels, and drawn on PDFs at most LOGO_MM wide."""

from __future__ import annotations

import base64
import io
import warnings

from PIL import Image, UnidentifiedImageError

from ixserver.domain.errors import InvalidLogo, RequestTooLarge

MAX_BYTES = 500 * 1024  # what PUT /_ixserver/account/logo accepts
# Larger images are refused before they are decoded: a decode takes 4 bytes a pixel (and as many
# again to convert) of the server process that draws it, 40 MB at most here. A JPEG is decoded at
# the smallest scale that still covers MAX_SIZE (its `draft`).
MAX_SOURCE_PIXELS = 10_000_000
MAX_SIZE = (1200, 600)  # what is kept: larger images are scaled down to fit
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
LOGO_MM = (45, 18)  # the most a logo takes on a PDF: its box, the image fitted inside


def normalized(body: bytes) -> tuple[bytes, str]:
    """The logo as kept (its bytes and media type) from the bytes given: RequestTooLarge past
    MAX_BYTES, InvalidLogo if they are not a PNG or JPEG image of sensible size."""
    if len(body) > MAX_BYTES:
        raise RequestTooLarge(MAX_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(body), formats=tuple(FORMATS))
            width, height = image.size
            if width * height > MAX_SOURCE_PIXELS:
                raise InvalidLogo(f"The logo must have at most {MAX_SOURCE_PIXELS:,} pixels".replace(",", " "))
            if image.format == "JPEG":
                image.draft("RGB", MAX_SIZE)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise InvalidLogo() from exc
    kind = str(image.format)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    kept = image.convert("RGBA" if has_alpha and kind == "PNG" else "RGB")
    kept.thumbnail(MAX_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if kind == "PNG":
        kept.save(out, "PNG", optimize=True)
    else:
        kept.save(out, "JPEG", quality=90, optimize=True)
    return out.getvalue(), FORMATS[kind]


def svg(content: bytes, media_type: str) -> str:
    """The logo as an SVG document holding it (a PDF's template is given text only): typst
    embeds the image itself in the PDF."""
    with Image.open(io.BytesIO(content)) as image:
        width, height = image.size
    data = base64.b64encode(content).decode()
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}"><image width="{width}" height="{height}" '
        f'xlink:href="data:{media_type};base64,{data}"/></svg>'
    )
