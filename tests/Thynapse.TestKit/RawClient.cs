using System.Text;
using NetMQ;
using NetMQ.Sockets;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.TestKit;

/// <summary>
/// A bare DEALER speaking the wire protocol by hand, for protocol and bad-input tests: what a client in another
/// language would do with plain libzmq. Not thread-safe; one test owns it.
/// </summary>
public sealed class RawClient : IDisposable
{
    private readonly DealerSocket _socket = new();

    /// <summary>
    /// Connects to a transmitter's command endpoint. A <paramref name="receiveQueue"/> (in messages) below the default
    /// also caps the kernel's receive buffer at 64 KiB, so that a client that is not reading pushes back on the
    /// transmitter within a few frames instead of buffering megabytes for it. With <paramref name="curveServerKey"/> (a
    /// transmitter's Z85 public key) it speaks CURVE, with a new key pair of its own.
    /// </summary>
    public RawClient(string endpoint, int receiveQueue = 1000, string? curveServerKey = null)
    {
        if (curveServerKey is not null)
        {
            _socket.Options.CurveServerKey = NetMQCertificate.FromPublicKey(curveServerKey).PublicKey;
            _socket.Options.CurveCertificate = new NetMQCertificate();
        }

        _socket.Options.Linger = TimeSpan.Zero;
        _socket.Options.ReceiveHighWatermark = receiveQueue;
        if (receiveQueue < 1000)
        {
            _socket.Options.ReceiveBuffer = 64 * 1024;
        }

        _socket.Connect(endpoint);
    }

    /// <summary>
    /// Connects and says <c>HELO</c> as a cell of a service of its own (<see cref="TestIds.Next"/> of
    /// <paramref name="service"/>), with <paramref name="hello"/>'s fields (encodings, say) added.
    /// </summary>
    public static RawClient Welcomed(string endpoint, string service, JObject? hello = null, int receiveQueue = 1000)
    {
        var client = new RawClient(endpoint, receiveQueue);
        try
        {
            client.Hello(TestIds.Next(service), hello);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <see cref="Welcomed"/>, then subscribed to <paramref name="pattern"/> in <paramref name="mode"/> as subscription 1,
    /// confirmed.
    /// </summary>
    public static RawClient Subscribed(string endpoint, string service, string pattern, string mode = "multi", JObject? hello = null, int receiveQueue = 1000)
    {
        var client = Welcomed(endpoint, service, hello, receiveQueue);
        try
        {
            client.Subscribe(1, pattern, mode);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>A fresh random THID for this client to use as its id.</summary>
    public Thid Id { get; } = Thid.NewRandom();

    /// <summary>Sends one message made of <paramref name="frames"/>.</summary>
    public void Send(params byte[][] frames)
    {
        for (var i = 0; i < frames.Length; i++)
        {
            _socket.SendFrame(frames[i], more: i < frames.Length - 1);
        }
    }

    /// <summary>Sends a one-frame message from text.</summary>
    public void Send(string header) => Send(Encoding.UTF8.GetBytes(header));

    /// <summary>Sends <c>J CMND {json}</c> (plus a body frame when given).</summary>
    public void SendJson(string command, JObject payload, byte[]? body = null)
    {
        var header = Encoding.UTF8.GetBytes($"J {command} {payload.ToString(Newtonsoft.Json.Formatting.None)}");
        if (body is null)
        {
            Send(header);
        }
        else
        {
            Send(header, body);
        }
    }

    /// <summary>The next message's frames, or a timeout naming what was expected.</summary>
    public List<byte[]> Receive(string what = "a message", TimeSpan? timeout = null)
    {
        var frames = new List<byte[]>();
        if (!_socket.TryReceiveMultipartBytes(timeout ?? Eventually.DefaultTimeout, ref frames))
        {
            throw new TimeoutException($"No {what} from the transmitter.");
        }

        return frames;
    }

    /// <summary>True when a message arrives within <paramref name="timeout"/> (for draining; never to assert absence).</summary>
    public bool TryReceive(TimeSpan timeout, out List<byte[]> frames)
    {
        frames = [];
        return _socket.TryReceiveMultipartBytes(timeout, ref frames);
    }

    /// <summary>Receives the next message and parses its header as <c>J CMND {json}</c>.</summary>
    public (string Command, JObject Payload, byte[]? Body) ReceiveJson(string what = "a message", TimeSpan? timeout = null)
    {
        var frames = Receive(what, timeout);
        var header = Encoding.UTF8.GetString(frames[0]);
        if (header.Length < 6 || header[0] != 'J')
        {
            throw new InvalidOperationException($"Expected a J frame, got '{header[..Math.Min(header.Length, 40)]}'.");
        }

        var payload = header.Length > 7 ? JObject.Parse(header[7..]) : [];
        return (header.Substring(2, 4), payload, frames.Count > 1 ? frames[1] : null);
    }

    /// <summary>Receives until a message with <paramref name="command"/> arrives (skipping others), and returns it.</summary>
    public (JObject Payload, byte[]? Body) Expect(string command, string? what = null)
    {
        var deadline = DateTime.UtcNow + Eventually.DefaultTimeout;
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            var (received, payload, body) = ReceiveJson(what ?? command, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
            if (received == command)
            {
                return (payload, body);
            }
        }
    }

    /// <summary>Sends <c>HELO</c> and returns the <c>WLCM</c> payload.</summary>
    public JObject Hello(string service, JObject? extra = null)
    {
        var hello = new JObject { ["id"] = Id.ToString(), ["service"] = service };
        if (extra is not null)
        {
            hello.Merge(extra);
        }

        // A transmitter that joins its mesh refuses cells with NOT_READY for a moment (PROTOCOL.md §12.8, "Readiness"):
        // a client retries, as the SDK does; tests of the gate itself send HELO and read the refusal.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (true)
        {
            SendJson("HELO", hello);
            var (command, payload, _) = ReceiveJson("WLCM");
            if (command == "ERRR" && payload.Value<int>("code") == (int)ThynapseErrorCode.NotReady && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(20); // the pause between retries, not a wait for a condition: the next HELO asks again
                continue;
            }

            return command == "WLCM" ? payload : throw new InvalidOperationException($"Expected WLCM, got {command} {payload}");
        }
    }

    /// <summary>Sends <c>SUBS</c> and waits for its <c>OKAY</c>.</summary>
    public void Subscribe(uint id, string pattern, string mode = "multi")
    {
        SendJson("SUBS", new JObject { ["sub"] = id, ["pattern"] = pattern, ["mode"] = mode, ["ref"] = $"subs-{id}" });
        var (command, payload, _) = ReceiveJson("OKAY for SUBS");
        if (command != "OKAY")
        {
            throw new InvalidOperationException($"Expected OKAY, got {command} {payload}");
        }
    }

    /// <summary>Asserts that the next message is <c>ERRR</c> with <paramref name="code"/>, and returns it.</summary>
    public JObject ExpectError(ThynapseErrorCode code)
    {
        var (command, payload, _) = ReceiveJson($"ERRR {code}");
        if (command != "ERRR" || payload.Value<int>("code") != (int)code)
        {
            throw new InvalidOperationException($"Expected ERRR {(int)code} {ErrorCodeNames.Of(code)}, got {command} {payload}");
        }

        return payload;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
