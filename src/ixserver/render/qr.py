"""The QR symbol of a payload, as AT's specification asks (pt-compliance §4.1): error level M,
byte mode, version 9 at least (larger when the payload needs it), no error-level boost."""

from __future__ import annotations

import io
from functools import lru_cache

import segno

from ixserver.domain.qr import MIN_VERSION

PNG_SCALE = 4  # pixels per module: 53 modules + the quiet zone make a 244-pixel image
# On a PDF (pt-compliance §4.1): the symbol itself, its modules without the quiet zone, at least
# 30 × 30 mm — a millimetre more, so that no rasterizer's or printer's rounding takes it under —
# and 2.5 mm of quiet zone around it, more than ISO/IEC 18004's 4 modules at every version from
# 9 (31 mm ÷ 53 modules × 4 = 2.3 mm).
SYMBOL_MM = 31
QUIET_ZONE_MM = 2.5


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
    """The symbol as SVG, for the PDF (one path: cheap for typst to draw), without its quiet
    zone: the PDF sizes the symbol and draws the quiet zone around it (SYMBOL_MM, QUIET_ZONE_MM)."""
    out = io.BytesIO()
    symbol(payload).save(out, kind="svg", border=0, xmldecl=False)
    return out.getvalue().decode()
