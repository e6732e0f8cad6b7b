"""How ASP.NET Web API's formatters read any body (F-110, F-111): its bytes as text, how deeply it
may nest, and the error raised when it cannot be read as its media type claims."""

from __future__ import annotations

import codecs

# How deeply a body's containers (JSON) or elements (XML) may nest: the MaxDepth of ASP.NET Web API's
# JsonMediaTypeFormatter, XmlMediaTypeFormatter and FormUrlEncodedMediaTypeFormatter (F-111).
MAX_DEPTH = 256
# Byte order marks as .NET's StreamReader detects them (UTF-32 LE before UTF-16 LE: it starts alike).
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


class WireError(ValueError):
    """A body that cannot be read as the media type it claims; ``detail`` says where and why."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


def _text(body: bytes, charset: str, *, byte_order_mark: bool = False) -> str:
    """The body as text, as ASP.NET Web API's formatters read it (F-110): UTF-16 (little-endian,
    .NET's ``utf-16``) when the charset names it, else UTF-8, whatever other charset is named
    (MediaTypeFormatter.SelectCharacterEncoding falls back to the formatter's first encoding).
    With ``byte_order_mark`` a leading BOM chooses the encoding and is skipped, as .NET's
    StreamReader does for the JSON formatter."""
    encoding = "utf-16-le" if charset.strip().lower() == "utf-16" else "utf-8"
    if byte_order_mark:
        for mark, marked in _BOMS:
            if body.startswith(mark):
                body, encoding = body[len(mark) :], marked
                break
    try:
        return body.decode(encoding)
    except UnicodeError as error:
        raise WireError(f"The body is not valid {encoding} text.", str(error)) from None
