"""TOTP second factor (RFC 6238 via pyotp): enrolment, QR code and replay-safe checks."""

from __future__ import annotations

import io
import time

import pyotp
import segno

ISSUER = "Shouhu"
# One step either side tolerates clock drift between phone and server.
VALID_WINDOW = 1
STEP_SECONDS = 30


def new_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The provisioning URI as an inline SVG QR code (no script, no external image)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step the code is valid for (within the window), or None."""
    cleaned = code.strip().replace(" ", "")
    if not cleaned.isdigit() or len(cleaned) != 6:  # noqa: PLR2004 - TOTP codes have 6 digits
        return None
    moment = time.time() if now is None else now
    totp = pyotp.TOTP(secret)
    current = int(moment // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(totp.at(step * STEP_SECONDS), cleaned):
            return step
    return None
