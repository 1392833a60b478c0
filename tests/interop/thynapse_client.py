#!/usr/bin/python3
"""A minimal Thynapse wire-protocol (version 1) client, written from PROTOCOL.md alone.

It speaks only encoding J (JSON headers, raw body frames) over one ZeroMQ DEALER socket, and depends on
nothing but pyzmq and the standard library. It exists to prove that PROTOCOL.md is enough to write a
client in another language; tests/Thynapse.Interop.Tests runs its `main` scenario against a real
transmitter and a real SDK cell.

Scenario output: one JSON object per line on stdout, one per step; on failure a
{"step": "error", ...} line, a message on stderr and exit status 1.

Run with the interpreter that has pyzmq, e.g. /usr/bin/python3 (python3-zmq).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import secrets
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import zmq

THID_RE = re.compile(r"^[0-9a-fA-F]{40}$")
COMMAND_RE = re.compile(rb"^[A-Z]{4}$")


class ProtocolFailure(Exception):
    """Something the transmitter did (or did not do) contradicts what the scenario expects."""


# --------------------------------------------------------------------------------------------- encoding


def encode_header(command: str, payload: Optional[dict] = None, encoding: str = "J") -> bytes:
    """PROTOCOL.md §2: 'E CMND' or 'E CMND <payload>'."""
    if not re.fullmatch(r"[A-Z]{4}", command):
        raise ValueError(f"command must be four upper-case letters: {command!r}")
    head = f"{encoding} {command}".encode("ascii")
    if payload is None:
        return head
    return head + b" " + json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _no_duplicates(pairs: list) -> dict:
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise ProtocolFailure(f"duplicate JSON key {key!r} (PROTOCOL.md §2.1 forbids them)")
        obj[key] = value
    return obj


@dataclass
class Message:
    """One received ZeroMQ message: the parsed header frame plus any further frames."""

    encoding: str
    command: str
    payload: Any  # dict for J, raw bytes for B
    frames: list  # every frame, header included, as bytes

    @property
    def extra(self) -> list:
        return self.frames[1:]

    def describe(self) -> str:
        shown = [repr(f[:200]) for f in self.frames]
        return " + ".join(shown)


def decode_message(frames: list) -> Message:
    """Parse a header frame per PROTOCOL.md §2 and a J payload per §2.1."""
    if not frames:
        raise ProtocolFailure("empty message")
    head = frames[0]
    if len(head) < 6 or head[1:2] != b" " or not COMMAND_RE.match(head[2:6]):
        raise ProtocolFailure(f"malformed header frame from transmitter: {head[:100]!r}")
    if len(head) > 6 and head[6:7] != b" ":
        raise ProtocolFailure(f"header frame has no space at byte 6: {head[:100]!r}")
    encoding = chr(head[0])
    command = head[2:6].decode("ascii")
    raw = head[7:]
    if encoding == "J":
        if not raw:
            payload: Any = {}
        else:
            try:
                payload = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
            except (UnicodeDecodeError, json.JSONDecodeError) as e:
                raise ProtocolFailure(f"invalid JSON payload in {head[:200]!r}: {e}") from e
            if not isinstance(payload, dict):
                raise ProtocolFailure(f"J payload is not a JSON object: {head[:200]!r}")
    elif encoding == "B":
        payload = raw
    else:
        raise ProtocolFailure(f"unknown encoding byte {head[0]:#x} in {head[:100]!r}")
    return Message(encoding, command, payload, list(frames))


def event_thid(origin_hex: str, seq: int, channel: str, body: bytes) -> str:
    """PROTOCOL.md §4.3: SHA-1(origin ‖ seq (8, BE) ‖ len(channel) (1) ‖ channel ‖ body), lowercase hex."""
    ch = channel.encode("ascii")
    h = hashlib.sha1()
    h.update(bytes.fromhex(origin_hex))
    h.update(seq.to_bytes(8, "big"))
    h.update(bytes([len(ch)]))
    h.update(ch)
    h.update(body)
    return h.hexdigest()


def is_thid(value: Any) -> bool:
    return isinstance(value, str) and THID_RE.match(value) is not None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_connectable_endpoint(endpoint: Any, timeout: float = 5.0) -> tuple:
    """WLCM.pub must be connectable (never '*'): tcp://host:port, and something must listen there."""
    if not isinstance(endpoint, str):
        raise ProtocolFailure(f"WLCM.pub is not a string: {endpoint!r}")
    m = re.fullmatch(r"tcp://(\[[^\]]+\]|[^:/\[\]]+):(\d+)", endpoint)
    if not m:
        raise ProtocolFailure(f"WLCM.pub is not tcp://host:port: {endpoint!r}")
    host, port = m.group(1), int(m.group(2))
    if host.startswith("["):
        host = host[1:-1]
    if host in ("*", "0.0.0.0", "::", "") or not 0 < port < 65536:
        raise ProtocolFailure(f"WLCM.pub is not connectable: {endpoint!r}")
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as e:
        raise ProtocolFailure(f"WLCM.pub {endpoint!r} refused a TCP connection: {e}") from e
    return host, port


# --------------------------------------------------------------------------------------------- client


@dataclass
class Delivery:
    channel: str
    id: str
    origin: str
    seq: int
    mode: str
    body: bytes
    sub: Optional[int] = None
    tag: Optional[int] = None
    attempt: Optional[int] = None


@dataclass
class Client:
    """One cell: a DEALER connected to a transmitter's command endpoint (PROTOCOL.md §1)."""

    context: zmq.Context
    endpoint: str
    thid: str = field(default_factory=lambda: secrets.token_hex(20))
    welcome: Optional[dict] = None
    heartbeat_s: Optional[float] = None
    backlog: list = field(default_factory=list)
    beats_sent: int = 0
    beats_received: int = 0
    last_send: float = 0.0
    sock: Any = None

    def __post_init__(self) -> None:
        self.sock = self.context.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        # §1: no ZMQ_ROUTING_ID.
        self.sock.connect(self.endpoint)

    def close(self) -> None:
        self.sock.close(0)

    # --- sending

    def send(self, command: str, payload: Optional[dict] = None, body: Optional[bytes] = None) -> None:
        frames = [encode_header(command, payload)]
        if body is not None:
            frames.append(body)
        self.send_frames(frames)
        if command == "BEAT":
            self.beats_sent += 1

    def send_frames(self, frames: list) -> None:
        # A DEALER with a connected pipe does not block; bound it anyway.
        if not self.sock.poll(5000, zmq.POLLOUT):
            raise ProtocolFailure(f"timed out sending {frames[0][:60]!r}")
        self.sock.send_multipart(frames, copy=True)
        self.last_send = time.monotonic()

    # --- receiving

    def _receive_one(self, deadline: float, what: str) -> Message:
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise ProtocolFailure(f"timed out waiting for {what}")
            wait = deadline - now
            if self.heartbeat_s is not None:
                # §4.4: a welcomed cell MUST send something at least every WLCM.heartbeat ms.
                keepalive_at = self.last_send + self.heartbeat_s * 0.8
                if now >= keepalive_at:
                    self.send("BEAT")
                    continue
                wait = min(wait, keepalive_at - now)
            if self.sock.poll(max(1, int(wait * 1000)), zmq.POLLIN):
                return decode_message(self.sock.recv_multipart())

    def wait_for(self, what: str, accept: Callable[[Message], bool], timeout: float,
                 errors_are_answers: bool = False) -> Message:
        """Wait for the first message that `accept` takes. BEATs are counted and skipped; other messages
        are kept in a backlog for later waits; an ERRR fails at once unless errors_are_answers."""
        for i, m in enumerate(self.backlog):
            if accept(m):
                del self.backlog[i]
                return m
        deadline = time.monotonic() + timeout
        while True:
            m = self._receive_one(deadline, what)
            if accept(m):
                return m
            if m.command == "BEAT" and m.encoding == "J":
                self.beats_received += 1
                continue
            if m.command == "ERRR" and not errors_are_answers:
                raise ProtocolFailure(f"ERRR while waiting for {what}: {m.describe()}")
            if m.command == "GBYE":
                raise ProtocolFailure(f"transmitter said GBYE while waiting for {what}: {m.describe()}")
            self.backlog.append(m)

    # --- commands

    def hello(self, service: str, timeout: float) -> dict:
        """§5.1 in its original form: exactly id and service."""
        self.send("HELO", {"id": self.thid, "service": service})
        m = self.wait_for("WLCM (answer to HELO)", lambda m: m.command in ("WLCM", "ERRR"), timeout,
                          errors_are_answers=True)
        if m.command == "ERRR":
            raise ProtocolFailure(f"HELO refused: {m.describe()}")
        if m.encoding != "J" or len(m.frames) != 1:
            raise ProtocolFailure(f"WLCM must be a single J frame (§5.2): {m.describe()}")
        w = m.payload
        if not is_thid(w.get("id")):
            raise ProtocolFailure(f"WLCM.id is not a 40-hex THID: {w.get('id')!r}")
        if w["id"] != w["id"].lower():
            raise ProtocolFailure(f"WLCM.id is not lowercase (§3.3): {w['id']!r}")
        check_connectable_endpoint(w.get("pub"))
        if w.get("protocol") != 1:
            raise ProtocolFailure(f"WLCM.protocol is not 1: {w.get('protocol')!r}")
        for name in ("heartbeat", "liveness"):
            if not is_int(w.get(name)) or w[name] <= 0:
                raise ProtocolFailure(f"WLCM.{name} is not a positive integer: {w.get(name)!r}")
        if not isinstance(w.get("session"), str) or not w["session"]:
            raise ProtocolFailure(f"WLCM.session is not a non-empty string: {w.get('session')!r}")
        encodings = w.get("encodings")
        if not isinstance(encodings, list) or "J" not in encodings or "B" in encodings:
            # §2.2: B only if the cell listed it; our HELO had no encodings, i.e. ["J"].
            raise ProtocolFailure(f"WLCM.encodings should be J only for a HELO without encodings: {encodings!r}")
        limits = w.get("limits")
        if not isinstance(limits, dict) or not all(is_int(limits.get(k))
                                                   for k in ("frame", "header", "subscriptions", "channel")):
            raise ProtocolFailure(f"WLCM.limits lacks frame/header/subscriptions/channel: {limits!r}")
        if not isinstance(w.get("transmitters"), list):
            raise ProtocolFailure(f"WLCM.transmitters is not an array: {w.get('transmitters')!r}")
        self.welcome = w
        self.heartbeat_s = w["heartbeat"] / 1000.0
        return w

    def subscribe(self, sub: int, pattern: str, mode: str, timeout: float, ref: Any = None) -> dict:
        """§5.6: SUBS, answered with OKAY {"command":"SUBS","sub":n} (and our ref copied, §5)."""
        payload: dict = {"sub": sub, "pattern": pattern, "mode": mode}
        if ref is not None:
            payload["ref"] = ref
        self.send("SUBS", payload)

        def answers(m: Message) -> bool:
            return (m.command == "OKAY" and m.payload.get("command") == "SUBS" and m.payload.get("sub") == sub) \
                or (m.command == "ERRR" and m.payload.get("command") == "SUBS")

        m = self.wait_for(f"OKAY for SUBS {sub} ({mode} {pattern})", answers, timeout, errors_are_answers=True)
        if m.command == "ERRR":
            raise ProtocolFailure(f"SUBS {sub} refused: {m.describe()}")
        if len(m.frames) != 1:
            raise ProtocolFailure(f"OKAY must be one frame: {m.describe()}")
        if ref is not None and m.payload.get("ref") != ref:
            raise ProtocolFailure(f"OKAY did not copy ref {ref!r} (§5): {m.describe()}")
        return m.payload

    def receive_delivery(self, what: str, accept: Callable[[Delivery], bool], timeout: float) -> Delivery:
        def matches(m: Message) -> bool:
            return m.command == "DLVR" and accept(parse_delivery(m))

        return parse_delivery(self.wait_for(what, matches, timeout))

    def publish(self, channel: str, body: Optional[bytes] = None, seq: Optional[int] = None,
                confirm: Optional[bool] = None) -> None:
        """§5.3: J EVNT {"channel", ["seq"], ["confirm"]} [+ body frame]."""
        payload: dict = {"channel": channel}
        if seq is not None:
            payload["seq"] = seq
        if confirm is not None:
            payload["confirm"] = confirm
        self.send("EVNT", payload, body)

    def wait_accepted(self, seq: int, timeout: float) -> dict:
        def answers(m: Message) -> bool:
            return m.command in ("ACPT", "ERRR") and m.payload.get("seq") == seq

        m = self.wait_for(f"ACPT for seq {seq}", answers, timeout, errors_are_answers=True)
        if m.command == "ERRR":
            raise ProtocolFailure(f"EVNT seq {seq} refused: {m.describe()}")
        if m.encoding != "J" or len(m.frames) != 1 or not is_int(m.payload.get("receivers")):
            raise ProtocolFailure(f"ACPT is not J {{seq, receivers}} in one frame (§5.4): {m.describe()}")
        return m.payload

    def beat(self, timeout: float) -> None:
        """§5.8: the transmitter answers each BEAT with J BEAT {}. BEAT answers carry no ref, so count them:
        every BEAT we sent (keepalives included) must have been answered."""
        self.send("BEAT")
        deadline = time.monotonic() + timeout
        while self.beats_received < self.beats_sent:
            m = self.wait_for("BEAT (answer to BEAT)", lambda m: m.command in ("BEAT", "ERRR"),
                              max(0.0, deadline - time.monotonic()), errors_are_answers=True)
            if m.command == "ERRR":
                raise ProtocolFailure(f"BEAT refused: {m.describe()}")
            if len(m.frames) != 1 or m.payload != {}:
                raise ProtocolFailure(f"BEAT answer is not J BEAT {{}}: {m.describe()}")
            self.beats_received += 1

    def goodbye(self, timeout: float) -> Message:
        """§5.9: GBYE from the cell is answered with J GBYE {} once everything queued has been sent."""
        self.send("GBYE")
        self.heartbeat_s = None  # leaving: no more keepalives
        deadline = time.monotonic() + timeout
        while True:
            m = self._receive_one(deadline, "GBYE (answer to GBYE)")
            if m.command == "GBYE":
                return m
            if m.command == "ERRR":
                raise ProtocolFailure(f"GBYE refused: {m.describe()}")
            if m.command == "BEAT":
                self.beats_received += 1
            else:
                self.backlog.append(m)


def parse_delivery(m: Message) -> Delivery:
    """§5.5: J DLVR {json} + body frame (always present)."""
    if m.encoding != "J":
        raise ProtocolFailure(f"got a B DLVR though HELO asked for J only: {m.describe()}")
    if len(m.frames) != 2:
        raise ProtocolFailure(f"J DLVR must have exactly one body frame: {m.describe()}")
    p = m.payload
    for name, ok in (("channel", isinstance(p.get("channel"), str)), ("id", is_thid(p.get("id"))),
                     ("origin", is_thid(p.get("origin"))), ("seq", is_int(p.get("seq"))),
                     ("mode", p.get("mode") in ("multi", "any"))):
        if not ok:
            raise ProtocolFailure(f"DLVR field {name} is missing or wrong: {m.describe()}")
    return Delivery(channel=p["channel"], id=p["id"], origin=p["origin"], seq=p["seq"], mode=p["mode"],
                    body=m.frames[1], sub=p.get("sub"), tag=p.get("tag"), attempt=p.get("attempt"))


# --------------------------------------------------------------------------------------------- scenario


def emit(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}, separators=(",", ":")), flush=True)


def body_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def check_delivery(d: Delivery, mode: str, channel: str, body: bytes, sub: Optional[int]) -> None:
    problems = []
    if d.mode != mode:
        problems.append(f"mode {d.mode!r} != {mode!r}")
    if d.channel != channel:
        problems.append(f"channel {d.channel!r} != {channel!r}")
    if d.body != body:
        problems.append(f"body {d.body!r} != {body!r}")
    if mode == "any":
        if d.sub != sub:
            problems.append(f"sub {d.sub!r} != {sub!r}")
        if not is_int(d.tag) or d.tag == 0:
            problems.append(f"tag {d.tag!r} is not a non-zero integer")
        if d.attempt != 1:
            problems.append(f"attempt {d.attempt!r} != 1")
    elif d.sub is not None:
        problems.append(f"a multicatch delivery names sub {d.sub!r} (§5.5: it names none)")
    if d.id != d.id.lower() or d.origin != d.origin.lower():
        problems.append("id/origin not lowercase (§3.3)")
    expected_id = event_thid(d.origin, d.seq, d.channel, d.body)
    if d.id.lower() != expected_id:
        problems.append(f"id {d.id} != SHA-1 of §4.3 {expected_id}")
    if problems:
        raise ProtocolFailure(f"{mode} DLVR on {channel}: " + "; ".join(problems))


def run(args: argparse.Namespace) -> None:
    t = args.timeout
    ctx = zmq.Context()
    try:
        # Error case first, on its own connection: any command before HELO is NOT_WELCOMED (§4.4, §9).
        stranger = Client(ctx, args.endpoint)
        try:
            stranger.send("BEAT")
            m = stranger.wait_for("ERRR 200 for BEAT before HELO",
                                  lambda m: m.command in ("ERRR", "BEAT"), t, errors_are_answers=True)
            if m.command != "ERRR" or m.payload.get("code") != 200:
                raise ProtocolFailure(f"expected ERRR 200 for BEAT before HELO, got {m.describe()}")
            if m.payload.get("name") != "NOT_WELCOMED" or m.payload.get("command") != "BEAT":
                raise ProtocolFailure(f"ERRR 200 should be NOT_WELCOMED naming BEAT (§5.11): {m.describe()}")
            emit("not_welcomed", code=m.payload["code"], name=m.payload.get("name"),
                 command=m.payload.get("command"), message=m.payload.get("message"))
        finally:
            stranger.close()

        cell = Client(ctx, args.endpoint)
        try:
            w = cell.hello(args.service, t)
            emit("welcome", cell_id=cell.thid, transmitter_id=w["id"], pub=w["pub"], heartbeat=w["heartbeat"],
                 liveness=w["liveness"], encodings=w["encodings"], limits=w["limits"])

            okay = cell.subscribe(1, args.multi_pattern, "multi", t, ref="sub-multi")
            emit("subscribed", sub=okay["sub"], mode="multi", pattern=args.multi_pattern, ref=okay.get("ref"))
            okay = cell.subscribe(2, args.any_pattern, "any", t, ref=2)
            emit("subscribed", sub=okay["sub"], mode="any", pattern=args.any_pattern, ref=okay.get("ref"))

            emit("ready")

            multi_body = args.multi_body.encode("utf-8")
            any_body = args.any_body.encode("utf-8")
            got: dict = {}
            deadline = time.monotonic() + args.delivery_timeout
            while len(got) < 2:
                remaining = deadline - time.monotonic()
                missing = [k for k in ("multi", "any") if k not in got]
                d = cell.receive_delivery(
                    f"DLVR ({' and '.join(missing)}) on {args.multi_channel} / {args.any_channel}",
                    lambda d: d.mode in missing, max(0.0, remaining))
                if d.mode == "multi":
                    check_delivery(d, "multi", args.multi_channel, multi_body, None)
                else:
                    check_delivery(d, "any", args.any_channel, any_body, 2)
                got[d.mode] = d
                emit("delivery", mode=d.mode, channel=d.channel, body=body_text(d.body), id=d.id, origin=d.origin,
                     seq=d.seq, sub=d.sub, tag=d.tag, attempt=d.attempt)

            body = args.publish_body.encode("utf-8")
            cell.publish(args.publish_channel, body, seq=1, confirm=True)
            acpt = cell.wait_accepted(1, t)
            if acpt["receivers"] < 1:
                raise ProtocolFailure(f"ACPT for seq 1 reports {acpt['receivers']} receivers, expected >= 1")
            emit("accepted", seq=acpt["seq"], receivers=acpt["receivers"], channel=args.publish_channel,
                 id=event_thid(cell.thid, 1, args.publish_channel, body))

            # The original minimal form, no body frame: no answer unless refused (§5.3).
            cell.publish(args.minimal_channel)
            emit("published_minimal", channel=args.minimal_channel)

            # Answers come in order, so a refusal of the minimal EVNT would show up before this BEAT's answer.
            cell.beat(t)
            emit("beat", sent=cell.beats_sent, received=cell.beats_received)

            bye = cell.goodbye(t)
            if bye.encoding != "J" or len(bye.frames) != 1:
                raise ProtocolFailure(f"GBYE answer is not one J frame: {bye.describe()}")
            leftovers = [m.describe() for m in cell.backlog]
            emit("goodbye", payload=bye.payload, unhandled=leftovers)
        finally:
            cell.close()
        emit("done")
    finally:
        ctx.term()


def parse_args(argv: list) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Thynapse protocol v1 interop client (J encoding)")
    p.add_argument("--endpoint", required=True, help="transmitter command endpoint, tcp://host:port")
    p.add_argument("--service", required=True)
    p.add_argument("--multi-pattern", required=True)
    p.add_argument("--multi-channel", required=True, help="channel the peer publishes on for the multicatch DLVR")
    p.add_argument("--multi-body", required=True)
    p.add_argument("--any-pattern", required=True)
    p.add_argument("--any-channel", required=True, help="channel the peer publishes on for the anycatch DLVR")
    p.add_argument("--any-body", required=True)
    p.add_argument("--publish-channel", required=True, help="channel for the confirmed EVNT (seq 1 + body)")
    p.add_argument("--publish-body", required=True)
    p.add_argument("--minimal-channel", required=True, help="channel for the minimal EVNT (no seq, no body)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer")
    p.add_argument("--delivery-timeout", type=float, default=30.0, help="seconds to wait for the peer's events")
    return p.parse_args(argv)


def main(argv: Optional[list] = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
        return 0
    except ProtocolFailure as e:
        emit("error", message=str(e))
        print(f"thynapse_client: FAILED: {e}", file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # anything unexpected is a failure too, never a hang or a silent exit
        emit("error", message=f"{type(e).__name__}: {e}")
        print(f"thynapse_client: FAILED with {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
