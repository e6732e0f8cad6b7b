"""Wire formats of the agent: every documented media type to and from one canonical JSON value.

A request body in any of the seven documented content types decodes to the value its JSON form
would have, so that one schema (the contract's) validates all of them and one handler serves
them. Responses are encoded from that value into JSON or XML. The XML shape is read from the
contract's ``xml`` keywords; what those cannot say follows the SOAP sample of the SaveWebhook
page (docs/fidelity.md, F-008, F-009, F-060 to F-064).

Decoding is guided by the schema so that ``<WebhookId>419</WebhookId>`` and ``WebhookId=419``
become the integer 419; text that is not a number stays text, so that validation then names the
field ("'abc' is not of type 'integer'") instead of the decoder failing vaguely.

Bodies are read as ASP.NET Web API's formatters read them (docs/fidelity.md F-110 to F-113): text
in UTF-8, or UTF-16 when the charset says so (any other charset falls back to UTF-8); a JSON body
may start with a byte order mark; containers nest at most ``MAX_DEPTH`` (256) levels deep in
JSON and elements in XML; of duplicate JSON keys the last value counts.

Errors::

    WireError                      the body cannot be read as its content type claims

The package, each module importing only from those listed above it::

    _body         WireError, MAX_DEPTH, a body's bytes as text (F-110, F-111)
    _negotiation  the media types, parse_media_type, negotiate (F-065)
    _json         decode_json, encode_json; format_datetime, UNSET_DATE (F-073)
    _shapes       what a schema says about a value's form; text read as a scalar
    _xml          XML bodies; xml_representable, without_xml_unrepresentable
    _form         form bodies
    _formats      WireFormats: the codecs of one contract; decode by media type
"""

from __future__ import annotations

from contracts.wire._body import MAX_DEPTH, WireError
from contracts.wire._formats import WireFormats
from contracts.wire._json import UNSET_DATE, decode_json, encode_json, format_datetime
from contracts.wire._negotiation import FORM_TYPE, JSON_TYPES, XML_TYPES, negotiate, parse_media_type
from contracts.wire._negotiation import RESPONSE_TYPES as RESPONSE_TYPES  # public, though not in __all__
from contracts.wire._xml import XSI as XSI  # public, though not in __all__
from contracts.wire._xml import without_xml_unrepresentable, xml_representable

__all__ = [
    "FORM_TYPE",
    "UNSET_DATE",
    "decode_json",
    "format_datetime",
    "encode_json",
    "negotiate",
    "without_xml_unrepresentable",
    "xml_representable",
    "JSON_TYPES",
    "MAX_DEPTH",
    "XML_TYPES",
    "WireError",
    "WireFormats",
    "parse_media_type",
]
