"""WireFormats: the codecs of one contract put together, and ``decode``, which reads a body by its
media type and charset."""

from __future__ import annotations

from typing import Any

from contracts.wire._body import WireError, _text
from contracts.wire._form import _FormCodec
from contracts.wire._json import decode_json
from contracts.wire._negotiation import FORM_TYPE, JSON_TYPES, XML_TYPES
from contracts.wire._xml import _XmlCodec


class WireFormats(_XmlCodec, _FormCodec):
    """Decoders and encoders for one contract (built once; cheap to call)."""

    # -- decoding -----------------------------------------------------------------------------

    def decode(self, media_type: str, body: bytes, schema: Any, *, charset: str = "utf-8") -> Any:
        """The JSON value of ``body``, read as ``media_type`` and guided by ``schema``."""
        if media_type in XML_TYPES:
            return self.decode_xml(body, schema)
        if media_type in JSON_TYPES:
            return decode_json(_text(body, charset, byte_order_mark=True))
        if media_type == FORM_TYPE:
            return self.decode_form(_text(body, charset), schema)
        raise WireError(f"The media type '{media_type}' cannot be read.")
