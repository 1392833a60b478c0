using System.Text;
using NetMQ;
using NetMQ.Sockets;

namespace Thynapse.Cell.Tests;

/// <summary>
/// A transmitter played by the test, one frame at a time: a ROUTER on a free loopback port. For the SDK's behaviour
/// across sessions, where the order of frames on the wire is the point (what a cell replays after a re-join, what it
/// must never send into a new session), which a real transmitter would hide. Not thread-safe; one test owns it.
/// </summary>
internal sealed class ScriptedTransmitter : IDisposable
{
    private readonly RouterSocket _router = new();

    public ScriptedTransmitter()
    {
        _router.Options.Linger = TimeSpan.Zero;
        Endpoint = $"tcp://127.0.0.1:{_router.BindRandomPort("tcp://127.0.0.1")}";
    }

    /// <summary>The command endpoint to give the cell.</summary>
    public string Endpoint { get; }

    /// <summary>The next message from any cell, or a timeout naming <paramref name="what"/>.</summary>
    public Received Receive(string what, TimeSpan? timeout = null)
    {
        var frames = new List<byte[]>();
        if (!_router.TryReceiveMultipartBytes(timeout ?? Eventually.DefaultTimeout, ref frames))
        {
            throw new TimeoutException($"No {what} from the cell.");
        }

        return new Received(frames[0], frames[1], frames.Count > 2 ? frames[2] : null);
    }

    /// <summary>The next message that is not a <c>BEAT</c> (those are answered).</summary>
    public Received ReceiveCommand(string what, TimeSpan? timeout = null)
    {
        while (true)
        {
            var received = Receive(what, timeout);
            if (received.Command != "BEAT")
            {
                return received;
            }

            Send(received.Identity, "J BEAT {}");
        }
    }

    /// <summary>The next message that is not a <c>BEAT</c>, which must be <paramref name="command"/>.</summary>
    public Received Expect(string command, TimeSpan? timeout = null)
    {
        var received = ReceiveCommand(command, timeout);
        return received.Command == command
            ? received
            : throw new InvalidOperationException($"Expected {command} from the cell, got {received.Header}");
    }

    /// <summary>Receives until a message with <paramref name="command"/>: returns it, and every other message before it (not BEATs).</summary>
    public (Received Found, List<Received> Before) ReceiveUntil(string command)
    {
        var before = new List<Received>();
        Received next;
        while ((next = ReceiveCommand(command)).Command != command)
        {
            before.Add(next);
        }

        return (next, before);
    }

    /// <summary>Answers a <c>HELO</c> with a <c>WLCM</c> (heartbeat 1 s, liveness 30 s: the cell never gives up on its own).</summary>
    public void Welcome(Received hello, JObject? extra = null)
    {
        var welcome = new JObject
        {
            ["id"] = Thid.NewRandom().ToString(),
            ["pub"] = "tcp://127.0.0.1:1",
            ["session"] = $"s-{Guid.NewGuid():N}",
            ["heartbeat"] = 1000,
            ["liveness"] = 30_000,
            ["encodings"] = new JArray("B", "J"),
            ["ref"] = hello.Json["ref"],
        };
        if (extra is not null)
        {
            welcome.Merge(extra);
        }

        SendJson(hello.Identity, "WLCM", welcome);
    }

    /// <summary>
    /// Connects a cell of a fresh service named after <paramref name="service"/> and welcomes it (<paramref name="welcome"/>
    /// adds to or replaces fields of the <c>WLCM</c>, see <see cref="Welcome"/>).
    /// </summary>
    public async Task<Cell> ConnectAsync(string service, CancellationToken ct, JObject? welcome = null)
    {
        var connecting = Cell.ConnectAsync(CellOptions.Default with { Transmitter = Endpoint, Service = TestIds.Next(service) }, ct);
        Welcome(Expect("HELO"), welcome);
        return await connecting.Within("the welcome");
    }

    /// <summary>Subscribes <paramref name="cell"/>, answering its <c>SUBS</c>: the subscription and that <c>SUBS</c>.</summary>
    public async Task<(CellSubscription Subscription, Received Subs)> SubscribeAsync(Cell cell, string pattern, Catch mode, SubscriptionOptions options, CancellationToken ct)
    {
        var subscribing = cell.SubscribeAsync(pattern, mode, options, ct);
        var subs = Expect("SUBS");
        Okay(subs);
        return (await subscribing, subs);
    }

    /// <summary>Answers a request with <c>OKAY</c>, copying its <c>ref</c>.</summary>
    public void Okay(Received request, JObject? extra = null)
    {
        var okay = new JObject { ["command"] = request.Command, ["ref"] = request.Json["ref"] };
        if (extra is not null)
        {
            okay.Merge(extra);
        }

        SendJson(request.Identity, "OKAY", okay);
    }

    /// <summary>Disposes <paramref name="cell"/>, answering its <c>GBYE</c> (whatever it sends before is skipped).</summary>
    public async Task CloseAsync(Cell cell)
    {
        var closing = cell.DisposeAsync().AsTask();
        var (goodbye, _) = ReceiveUntil("GBYE");
        SendJson(goodbye.Identity, "GBYE", []);
        await closing.Within("the cell's disposal");
    }

    /// <summary>Sends <c>J CMND {json}</c> (and a body frame) to the cell behind <paramref name="identity"/>.</summary>
    public void SendJson(byte[] identity, string command, JObject payload, byte[]? body = null) =>
        Send(identity, $"J {command} {payload.ToString(Newtonsoft.Json.Formatting.None)}", body);

    /// <summary>Sends a header frame (and a body frame) to the cell behind <paramref name="identity"/>.</summary>
    public void Send(byte[] identity, string header, byte[]? body = null)
    {
        _router.SendMoreFrame(identity);
        if (body is null)
        {
            _router.SendFrame(header);
        }
        else
        {
            _router.SendMoreFrame(header).SendFrame(body);
        }
    }

    public void Dispose() => _router.Dispose();

    /// <summary>One message from a cell: the ROUTER's identity of its connection, its header and body frames.</summary>
    internal sealed class Received(byte[] identity, byte[] header, byte[]? body)
    {
        public byte[] Identity { get; } = identity;

        public byte[] RawHeader { get; } = header;

        public byte[]? Body { get; } = body;

        /// <summary>The header as text (binary payloads come out garbled: read <see cref="RawHeader"/>).</summary>
        public string Header { get; } = Encoding.UTF8.GetString(header);

        /// <summary>The encoding, <c>J</c> or <c>B</c>.</summary>
        public char EncodingId => (char)RawHeader[0];

        /// <summary>The four-letter command.</summary>
        public string Command => Header.Length >= 6 ? Header.Substring(2, 4) : Header;

        /// <summary>The JSON payload of a <c>J</c> command (empty when it has none).</summary>
        public JObject Json => EncodingId == 'J' && Header.Length > 7 ? JObject.Parse(Header[7..]) : [];

        /// <summary>The bodies (as text) of the events of a <c>B EVNT</c> frame (PROTOCOL.md §6.1).</summary>
        public IReadOnlyList<string> EventBodies()
        {
            var bodies = new List<string>();
            var reader = new EventRecordReader(RawHeader.AsSpan(FrameHeader.PayloadOffset));
            while (reader.TryRead(out var record, out _))
            {
                bodies.Add(System.Text.Encoding.UTF8.GetString(record.Body));
            }

            return reader.End ? bodies : throw new InvalidOperationException("A malformed B EVNT frame.");
        }

        /// <summary>True when this message came on the connection of <paramref name="other"/>.</summary>
        public bool SameConnectionAs(Received other) => Identity.AsSpan().SequenceEqual(other.Identity);
    }
}
