"""The QR symbol of a payload, as AT's specification asks (pt-compliance §4.1): error level M,
byte mode, version 9 at least (larger when the payload needs it), no error-level boost."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

from ixserver.domain.qr import MIN_VERSION

PNG_SCALE = 4  # pixels per module: 53 modules + the quiet zone make a 244-pixel image


def symbol(payload: str) -> segno.QRCode:
    """The symbol, its mask the best of the 8 (ISO/IEC 18004 §7.8.3: ~80 % of the cost). The
    version the payload needs is found first with a fixed mask, which skips that choice, so that
    it is made once: on the symbol actually drawn."""
    needed = segno.make_qr(payload, error="m", mode="byte", boost_error=False, mask=0).version
    return segno.make_qr(payload, error="m", mode="byte", boost_error=False, version=max(needed, MIN_VERSION))


# A document's payload changes only when it is canceled: its image is drawn once per process.
@lru_cache(maxsize=4096)
def png(payload: str) -> bytes:
    out = io.BytesIO()
    symbol(payload).save(out, kind="png", scale=PNG_SCALE, border=4)
    return out.getvalue()


@lru_cache(maxsize=4096)
def svg(payload: str) -> str:
    """The symbol as SVG, for the PDF (one path: cheap for typst to draw)."""
    out = io.BytesIO()
    symbol(payload).save(out, kind="svg", border=4, xmldecl=False)
    return out.getvalue().decode()
