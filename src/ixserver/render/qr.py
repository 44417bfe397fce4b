"""The QR symbol of a payload, as AT's specification asks (pt-compliance §4.1): error level M,
byte mode, version 9 at least (larger when the payload needs it), no error-level boost."""

from __future__ import annotations

import io

import segno

from ixserver.domain.qr import MIN_VERSION

PNG_SCALE = 4  # pixels per module: 53 modules + the quiet zone make a 244-pixel image


def symbol(payload: str) -> segno.QRCode:
    fitted = segno.make_qr(payload, error="m", mode="byte", boost_error=False)
    if fitted.version < MIN_VERSION:
        fitted = segno.make_qr(payload, error="m", mode="byte", boost_error=False, version=MIN_VERSION)
    return fitted


def png(payload: str) -> bytes:
    out = io.BytesIO()
    symbol(payload).save(out, kind="png", scale=PNG_SCALE, border=4)
    return out.getvalue()
