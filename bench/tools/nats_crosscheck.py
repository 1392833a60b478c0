#!/usr/bin/env python3
"""Cross-checks the bench's lean NATS client against nats-server itself and an independent Python client.

Usage: python3 bench/tools/nats_crosscheck.py [path/to/Thynapse.Bench.dll]
(build first: dotnet build -c Release bench/Thynapse.Bench)

1. C# publisher -> C# receiver: the receiver's count must equal the server's own /varz counters.
2. Python raw-socket publisher -> C# receiver: the C# parser reads what another writer wrote.
3. C# publisher -> Python raw-socket subscriber: another reader reads what the C# writer wrote.
4. Python sequential requests -> C# echo (queue group, reply subject): every reply arrives, with its body.
Every process started here is killed by PID at the end.
"""
import json, os, socket, subprocess, sys, time, urllib.request

DLL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "Thynapse.Bench", "bin", "Release", "net10.0", "Thynapse.Bench.dll")
N = 500_000
procs = []

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def role(*args):
    p = subprocess.Popen(["dotnet", DLL, "--role", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    procs.append(p); return p

def wait(p, kind):
    while True:
        line = p.stdout.readline()
        if not line: raise RuntimeError(f"role exited while waiting for {kind}")
        msg = json.loads(line)
        if msg["type"] == "error": raise RuntimeError(msg["message"])
        if msg["type"] == kind: return msg

def send(p, cmd): p.stdin.write(cmd + "\n"); p.stdin.flush()

def count_until(recv, n, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        send(recv, "report"); r = wait(recv, "report")
        if r["count"] >= n: return r["count"]
        time.sleep(0.1)
    return r["count"]

def varz(mport): return json.load(urllib.request.urlopen(f"http://127.0.0.1:{mport}/varz"))

def raw_conn(port):
    s = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.recv(65536)  # INFO
    s.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'); buf = b""
    while b"PONG\r\n" not in buf: buf += s.recv(65536)
    return s

def ping(s):
    s.sendall(b"PING\r\n"); buf = b""
    while b"PONG\r\n" not in buf: buf += s.recv(65536)

def main():
    port, mport = free_port(), free_port()
    srv = subprocess.Popen(["/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", str(port), "-m", str(mport)], stderr=subprocess.PIPE)
    procs.append(srv)
    while b"Server is ready" not in srv.stderr.readline(): pass
    ep = f"127.0.0.1:{port}"
    ok = True

    # 1. C# -> C#, against the server's counters.
    recv = role("n-recv", "--endpoint", ep, "--pattern", "x.1", "--warm", str(N // 10)); wait(recv, "ready")
    pub = role("n-pub", "--endpoint", ep, "--channel", "x.1", "--count", str(N), "--size", "100"); wait(pub, "ready")
    t0 = time.time(); send(pub, "go"); wait(pub, "done"); got = count_until(recv, N); dt = time.time() - t0
    v = varz(mport)
    print(f"1. C# pub -> C# sub: received {got}/{N}; server in_msgs {v['in_msgs']} out_msgs {v['out_msgs']} "
          f"in_bytes {v['in_bytes']} (expect {N * 100}); ~{N / dt:,.0f} msgs/s incl. polling")
    ok &= got == N and v["in_msgs"] == N and v["out_msgs"] == N and v["in_bytes"] == N * 100

    # 2. Python writer -> C# reader.
    recv2 = role("n-recv", "--endpoint", ep, "--pattern", "x.2", "--warm", "1"); wait(recv2, "ready")
    s = raw_conn(port); body = bytes(range(100)); msg = b"PUB x.2 100\r\n" + body + b"\r\n"; m = 100_000
    t0 = time.time(); s.sendall(msg * m); ping(s); got2 = count_until(recv2, m); dt = time.time() - t0
    print(f"2. Python pub -> C# sub: received {got2}/{m} ({m / dt:,.0f} msgs/s)"); ok &= got2 == m

    # 3. C# writer -> Python reader (full MSG parsing, payload checked for size).
    sub = raw_conn(port); sub.sendall(b"SUB x.3 1\r\n"); ping(sub)
    pub3 = role("n-pub", "--endpoint", ep, "--channel", "x.3", "--count", str(m), "--size", "100"); wait(pub3, "ready")
    t0 = time.time(); send(pub3, "go"); buf = bytearray(); got3 = 0; bad = 0
    while got3 < m:
        buf += sub.recv(1 << 20); pos = 0
        while True:
            i = buf.find(b"\r\n", pos)
            if i < 0: break
            line = bytes(buf[pos:i])
            if line.startswith(b"MSG "):
                size = int(line.rsplit(b" ", 1)[1])
                if len(buf) < i + 2 + size + 2: break
                bad += size != 100 or buf[i + 2 + size:i + 4 + size] != b"\r\n"; got3 += 1; pos = i + 4 + size
            else:
                pos = i + 2
        del buf[:pos]
    dt = time.time() - t0
    print(f"3. C# pub -> Python sub: received {got3}/{m}, malformed {bad} ({m / dt:,.0f} msgs/s, Python-bound)"); ok &= got3 == m and bad == 0

    # 4. Python sequential requests -> C# echo.
    echo = role("n-echo", "--endpoint", ep, "--channel", "rr.req", "--service", "echo"); wait(echo, "ready")
    r = raw_conn(port); r.sendall(b"SUB _INBOX.py 1\r\n"); ping(r); rtts = []; good = 0
    for k in range(2000):
        payload = k.to_bytes(8, "little") + bytes(92); t = time.perf_counter()
        r.sendall(b"PUB rr.req _INBOX.py 100\r\n" + payload + b"\r\n"); buf = b""
        while not (buf.startswith(b"MSG") and buf.endswith(b"\r\n") and len(buf) >= buf.index(b"\r\n") + 104): buf += r.recv(65536)
        rtts.append(time.perf_counter() - t); good += buf[buf.index(b"\r\n") + 2:][:100] == payload
    rtts.sort()
    print(f"4. Python requests -> C# echo: {good}/2000 correct replies, RTT p50 {rtts[1000] * 1e6:.0f} µs (Python client)")
    ok &= good == 2000
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1

try:
    sys.exit(main())
finally:
    for p in reversed(procs):  # roles first, the server last
        if p.poll() is None: p.kill(); p.wait()
