"""A stream-protocol TCP client that resumes its TLS session, written only from PROTOCOL.md, for interop tests.

Usage: stream_resume.py SERVER_IP SERVER_PORT CA CERT KEY DEST_HOST DEST_PORT TLS_VERSION RESUME_AT < payload
Opens a tunnel, sends the header and the payload, reads the echo and keeps the session (the ticket of TLS 1.3, the
session id of TLS 1.2). It then waits until RESUME_AT (seconds since the epoch; 0 for no wait) and opens a second
tunnel offering that session. It writes what the second tunnel echoed to stdout and, to stderr, one line per tunnel:
"tunnel=N version=V reused=True|False echoed=BYTES". Exit 0 if both echoed everything, 3 if the second was cut
short, 4 if the second failed with an error (its line then says error=...), 5 if the first did not echo.
"""
import socket
import ssl
import sys
import time

from stream_client import client_context, header, read_upto


def tunnel(ctx, n, server, dest, payload, session):
    with socket.create_connection(server, timeout=20) as raw:
        with ctx.wrap_socket(raw, server_hostname="godoxy.agent", session=session) as s:
            s.sendall(header(dest[0], dest[1]) + payload)
            got = read_upto(s, len(payload))
            sys.stderr.write("tunnel=%d version=%s reused=%s echoed=%d\n"
                             % (n, s.version(), s.session_reused, len(got)))
            return got, s.session


def main() -> int:
    server_ip, server_port, ca, cert, key, dest_host, dest_port, version, resume_at = sys.argv[1:10]
    payload = sys.stdin.buffer.read()
    ctx = client_context(ca, cert, key, version)
    server = (server_ip, int(server_port))
    dest = (dest_host, dest_port)
    first, session = tunnel(ctx, 1, server, dest, payload, None)
    if first != payload:
        return 5
    wait = float(resume_at) - time.time()
    if wait > 0:
        time.sleep(wait)
    try:
        second, _ = tunnel(ctx, 2, server, dest, payload, session)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("tunnel=2 error=%s\n" % e)
        return 4
    sys.stdout.buffer.write(second)
    sys.stdout.buffer.flush()
    return 0 if second == payload else 3


if __name__ == "__main__":
    sys.exit(main())
