"""The servers WINBACK_BROKER lists, read one way wherever they are read: to connect, to check
them at start and to mask a password a URL carries.

A server is ``host:port``, ``kafka://host:port`` or either with ``user:password@`` before the
host; servers are separated by commas, and a comma inside a password stays in it.
"""

from __future__ import annotations


def servers(value: str) -> list[str]:
    """The comma-separated servers of ``value``.  A piece that is no address, followed by one whose
    text before its ``@`` has no ``:``, is a ``user:password`` the comma split: they are one server."""
    pieces: list[str] = []
    for piece in value.split(","):
        if pieces and not is_address(host_of(pieces[-1])) and "@" in piece and ":" not in piece.rpartition("@")[0]:
            pieces[-1] += "," + piece
        else:
            pieces.append(piece)
    return pieces


def host_of(server: str) -> str:
    """``host:port`` of a server, without its ``kafka://`` and credentials."""
    return server.strip().removeprefix("kafka://").rpartition("@")[2]


def is_address(address: str) -> bool:
    """Whether ``address`` is host:port as the Kafka clients read it: an IPv6 host in brackets,
    a bare host (port 9092) or IPv6 address, and no spaces."""
    host, port = address, None
    if "://" in address:  # a listener name (PLAINTEXT://, SASL_SSL://) the Java clients take: these read it as the host
        return False
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        if rest and not rest.startswith(":"):  # [::1]9092 would be read as port 92
            return False
        port = rest.removeprefix(":") if rest else None
    elif address.count(":") == 1:
        host, _, port = address.partition(":")
    valid_port = port is None or (port.isdigit() and 1 <= int(port) <= 65535)
    return bool(host) and valid_port and not any(character.isspace() for character in address)
