#!/usr/bin/env python3
"""User-path check: `stream-proxy server` and `stream-proxy forward --udp` as separate processes, with a relay
between them that loses, repeats and delays DTLS handshake datagrams (application records pass untouched, so that
only the handshakes are tested). A client opens N flows through forward one after another (each a new DTLS session),
resending its datagram every second until the echo comes back, and reports how many got through and how long each
took. Usage: lossy_udp_path.py JAR N LOSS DUP JITTER_MS SEED"""
import heapq, os, random, re, socket, subprocess, sys, tempfile, threading, time

jar, n, loss, dup, jitter_ms, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), \
    float(sys.argv[5]), int(sys.argv[6])
rnd = random.Random(seed)
lock = threading.Lock()
stop = False

def udp(port=0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    return s

# echo destination
echo = udp()
def echo_loop():
    while not stop:
        try:
            d, a = echo.recvfrom(65536)
            echo.sendto(d, a)
        except OSError:
            return
threading.Thread(target=echo_loop, daemon=True).start()

tmp = tempfile.mkdtemp()
subprocess.run(["java", "-jar", jar, "certs", "--out", tmp], check=True, capture_output=True)

def start(args, pattern):
    p = subprocess.Popen(["java", "-jar", jar] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:
        m = re.search(pattern, line)
        if m:
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, m
    raise SystemExit("no ready line from " + " ".join(args))

server, m = start(["server", "--certs", tmp, "--tcp", "127.0.0.1:0", "--udp", "127.0.0.1:0"], r"udp=([\d.]+):(\d+)")
server_addr = (m.group(1), int(m.group(2)))

# the lossy relay: one upstream socket per forward-side source
front = udp()
queue = []  # (when, seq, sock, data, addr)
seq = [0]
cv = threading.Condition(lock)
def schedule(sock, data, addr):
    handshake = data[:1] != b"\x17"
    copies = 1
    if handshake:
        copies = 0 if rnd.random() < loss else (2 if rnd.random() < dup else 1)
    for _ in range(copies):
        delay = rnd.random() * jitter_ms / 1000 if handshake else 0
        with cv:
            seq[0] += 1
            heapq.heappush(queue, (time.monotonic() + delay, seq[0], sock, data, addr))
            cv.notify()
def sender():
    while not stop:
        with cv:
            while not queue or queue[0][0] > time.monotonic():
                cv.wait(timeout=0.005 if queue else 0.1)
                if stop:
                    return
            _, _, sock, data, addr = heapq.heappop(queue)
        try:
            sock.sendto(data, addr)
        except OSError:
            pass
threading.Thread(target=sender, daemon=True).start()
backs = {}
def back_loop(b, client):
    while not stop:
        try:
            d, _ = b.recvfrom(65536)
        except OSError:
            return
        schedule(front, d, client)
def front_loop():
    while not stop:
        try:
            d, a = front.recvfrom(65536)
        except OSError:
            return
        b = backs.get(a)
        if b is None:
            b = udp()
            backs[a] = b
            threading.Thread(target=back_loop, args=(b, a), daemon=True).start()
        schedule(b, d, server_addr)
threading.Thread(target=front_loop, daemon=True).start()

fwd, m = start(["forward", "--udp", "--certs", tmp, "--server", "127.0.0.1:%d" % front.getsockname()[1],
                "--to", "127.0.0.1:%d" % echo.getsockname()[1]], r"forwarding ([\d.]+):(\d+)")
fwd_addr = (m.group(1), int(m.group(2)))

took = []
failed = 0
for i in range(n):
    c = udp()
    c.settimeout(0.2)
    payload = b"flow %d" % i
    t0 = time.monotonic()
    ok = False
    last = 0
    while time.monotonic() - t0 < 20:
        if time.monotonic() - last >= 1:
            c.sendto(payload, fwd_addr)
            last = time.monotonic()
        try:
            d, _ = c.recvfrom(65536)
            if d == payload:
                ok = True
                break
        except socket.timeout:
            pass
    took.append(time.monotonic() - t0)
    if not ok:
        failed += 1
    c.close()
stop = True
fwd.kill(); server.kill()
took.sort()
print("%s: %d flows, %d failed (no echo in 20 s); time to first echo p50 %.2f s, p90 %.2f s, max %.2f s"
      % (os.path.basename(jar), n, failed, took[len(took) // 2], took[int(len(took) * 0.9)], took[-1]))
