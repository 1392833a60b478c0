"""A plain libzmq client of PROTOCOL.md §1 and §5.1, with or without CURVE: sends one HELO and prints what answers.

Prints 'answer WLCM' (or 'answer ERRR <code>') when the transmitter answers within --timeout seconds, else 'no answer'.
Exit code 0 either way; the test decides which is right.
"""
import argparse
import json
import os

import zmq


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--server-key", help="the transmitter's Z85 CURVE public key; none: plain text")
    parser.add_argument("--secret")
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args()

    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    if args.server_key:
        public, secret = zmq.curve_keypair()
        socket.curve_serverkey = args.server_key.encode("ascii")
        socket.curve_publickey = public
        socket.curve_secretkey = secret
    socket.connect(args.endpoint)

    hello = {"id": os.urandom(20).hex(), "service": "python-curve"}
    if args.secret:
        hello["secret"] = args.secret
    socket.send(b"J HELO " + json.dumps(hello).encode("utf-8"))
    if socket.poll(int(args.timeout * 1000)) == 0:
        print("no answer", flush=True)
        return
    header = socket.recv()
    command = header[2:6].decode("ascii")
    if command == "ERRR":
        print(f"answer ERRR {json.loads(header[7:])['code']}", flush=True)
    else:
        print(f"answer {command}", flush=True)
    socket.send(b"J GBYE")
    socket.poll(1000)


if __name__ == "__main__":
    main()
