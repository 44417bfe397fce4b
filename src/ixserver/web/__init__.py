"""The HTTP machinery the API's operations (api/) stand on: the request boundary, the key and the
rate limits, each account's share, the request log, the error table, the lenient wire format and
its parser process, the read cache, routing, the connection protocol, and what an app instance
owns (context.py). Importing it registers the `{…:id}` path convertor."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class IdConvertor(Convertor[int]):
    """Ids in paths: digits that fit a signed 64-bit integer (anything else is a 404)."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
