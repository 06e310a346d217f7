"""A stream-protocol TCP client written only from PROTOCOL.md, for interop tests.

Usage: stream_client.py SERVER_IP SERVER_PORT CA CERT KEY DEST_HOST DEST_PORT TLS_VERSION < payload
Sends the header and the payload in one write, reads back len(payload) bytes, writes them to stdout and the
negotiated TLS version and ALPN id to stderr.
"""
import socket
import ssl
import struct
import sys
import zlib


def header(host: str, port: str, flags: int = 0) -> bytes:
    h = host.encode("utf-8")
    p = port.encode("ascii")
    body = b"0.1.0\0\0\0" + bytes([len(h)]) + h.ljust(255, b"\0") + bytes([len(p)]) + p.ljust(5, b"\0") + bytes([flags])
    assert len(body) == 271
    return body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def read_upto(s, n):
    """Reads until N bytes came or the stream ended; returns what came."""
    got = bytearray()
    while len(got) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    return bytes(got)


def client_context(ca, cert, key, version):
    """A client context trusting CA, presenting CERT and KEY, offering the stream ALPN id on TLS VERSION only."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["godoxy-agent-stream/1"])
    if version == "1.2":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def main() -> int:
    server_ip, server_port, ca, cert, key, dest_host, dest_port, version = sys.argv[1:9]
    payload = sys.stdin.buffer.read()
    ctx = client_context(ca, cert, key, version)
    with socket.create_connection((server_ip, int(server_port)), timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname="godoxy.agent") as s:
            sys.stderr.write("version=%s alpn=%s\n" % (s.version(), s.selected_alpn_protocol()))
            s.sendall(header(dest_host, dest_port) + payload)
            got = read_upto(s, len(payload))
            sys.stdout.buffer.write(got)
            sys.stdout.buffer.flush()
    return 0 if len(got) == len(payload) else 3


if __name__ == "__main__":
    sys.exit(main())
