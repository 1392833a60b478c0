using System.Net.Sockets;
using NetMQ;
using NetMQ.Sockets;
using Thynapse.Core;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// The SUB this transmitter reads its peers' streams on (PROTOCOL.md §12.2): connected to every followed member's
/// event socket, subscribed to the broadcast topic and to this transmitter's THID. It decodes what arrives, checks the
/// streams' numbers (<see cref="PeerStreams"/>: a broadcast gap asks the member for a snapshot on its command link),
/// and hands pulses, records and directed answers to <see cref="Membership"/>, the cell replica and the forward inbox.
/// </summary>
/// <remarks>Routing thread only; the socket is opened with the mesh (<see cref="Open"/>) and closed with the transmitter.</remarks>
internal sealed class PeerSubscriber(TransmitterOptions options, PeerLinks mesh, NetMQPoller poller, StallAwareClock clock,
    TransmitterCounters counters, MeshLog log) : IDisposable
{
    private const int ReceiveBudget = 1024;
    private static readonly byte[] BroadcastTopic = System.Text.Encoding.ASCII.GetBytes(MeshFrames.BroadcastTopic);

    private readonly PeerStreams _streams = new();
    private readonly Dictionary<Thid, string> _listening = [];
    private readonly Dictionary<Thid, long> _snapshotAskedAt = [];
    private readonly List<byte[]> _frames = [];
    private Msg _last; // a message's last frame, read in place: a FWRD's records are not copied unless held behind a gap
    private readonly long _snapshotPause = clock.TicksOf(options.Mesh.JoinTimeout);
    private byte[] _ownTopic = [];
    private SubscriberSocket? _sub;

    private Membership Membership => mesh.Membership;

    /// <summary>Opens the SUB (the mesh's first seed or peer).</summary>
    public void Open()
    {
        _last.InitEmpty();
        _sub = new SubscriberSocket();
        _sub.Options.Linger = TimeSpan.Zero;
        _sub.Options.ReceiveHighWatermark = 100_000; // forwarded events arrive one message per burst of a peer
        _sub.Options.ReconnectInterval = TimeSpan.FromMilliseconds(100);
        _sub.Options.ReconnectIntervalMax = options.Mesh.RetryMax;
        // With a cluster secret the peers' event sockets are CURVE servers of the key derived from it (§12.12).
        Sockets.SecureClient(_sub, mesh.ClusterKey?.EventCertificate ?? options.CurveCertificate);
        _ownTopic = System.Text.Encoding.ASCII.GetBytes(Membership.Id.ToString());
        _sub.Subscribe(MeshFrames.BroadcastTopic);
        _sub.Subscribe(Membership.Id.ToString());
        _sub.ReceiveReady += (_, _) => log.Guarded("reading peers' event sockets", Read);
        poller.Add(_sub);
    }

    /// <summary>Connects to a member's event socket (again, if its endpoint changed).</summary>
    public void Listen(Thid id, string endpoint)
    {
        if (_listening.TryGetValue(id, out var current))
        {
            if (current == endpoint)
            {
                return;
            }

            StopListening(id);
        }

        try
        {
            _sub!.Options.IPv4Only = !endpoint.Contains('[', StringComparison.Ordinal);
            _sub.Connect(endpoint);
            _listening[id] = endpoint;
        }
        catch (Exception ex) when (ex is NetMQException or SocketException or ArgumentException)
        {
            if (log.Warnings.Allow(WarningKind.PeerUnreachable))
            {
                log.Log.Warning("Could not subscribe to the event socket of peer {PeerId} at {Endpoint}: {Reason}", id, endpoint, ex.Message);
            }
        }
    }

    /// <summary>Disconnects from a member's event socket and forgets its streams' numbers.</summary>
    public void StopListening(Thid id)
    {
        if (_listening.Remove(id, out var endpoint))
        {
            try
            {
                _sub!.Disconnect(endpoint);
            }
            catch (EndpointNotFoundException)
            {
                // Never connected (NetMQ refused it): nothing to undo.
            }

            _streams.Forget(id);
        }
    }

    /// <summary>A member is no longer probed: a snapshot asked of it is no longer awaited.</summary>
    public void Unfollowed(Thid id) => _snapshotAskedAt.Remove(id);

    /// <summary>A <c>MEMB</c> answer (a snapshot) arrived on a command link: the sender's broadcast stream is in step as of its number.</summary>
    public void Synced(StreamHeader origin)
    {
        _streams.Synced(origin.Id, origin.Incarnation, origin.Seq);
        _snapshotAskedAt.Remove(origin.Id);
    }

    /// <summary>
    /// How many frames at the start of <paramref name="frames"/> are leftovers to drop: a topic frame left over from a
    /// message whose other frames were lost in a reconnection arrives glued in front of the next message (NetMQ issue
    /// #614: <c>[topic, topic, header, body]</c>). A header frame never equals a topic (it starts with its format byte
    /// and command), so while the second frame is again a subscribed topic, the first one is a leftover.
    /// </summary>
    internal static int LeftoverTopics(IReadOnlyList<byte[]> frames, byte[] ownTopic)
    {
        var start = 0;
        while (frames.Count - start >= 2 && (frames[start + 1].AsSpan().SequenceEqual(BroadcastTopic) || frames[start + 1].AsSpan().SequenceEqual(ownTopic)))
        {
            start++;
        }

        return start;
    }

    /// <summary>Reads the peers' streams: pulses, broadcast records, directed answers, forwarded events.</summary>
    public void Read()
    {
        if (_sub is null)
        {
            return;
        }

        clock.Advance();
        var read = 0;
        for (; read < ReceiveBudget && _sub.TryReceive(ref _last, TimeSpan.Zero); read++)
        {
            try
            {
                // The frames before the last are small (topics, the header) and copied; the last is read in place. The
                // rest of a message normally arrives with its first frame, but not always: a topic frame left over from
                // a message cut by a reconnection (NetMQ #614) says more is coming and nothing follows until the next
                // message, so the rest is never waited for (a blocking receive here would stall the routing thread).
                _frames.Clear();
                var lastInPlace = true;
                while (_last.HasMore)
                {
                    _frames.Add(_last.Slice().ToArray());
                    if (!_sub.TryReceive(ref _last, TimeSpan.Zero))
                    {
                        lastInPlace = false; // what came is the message, all of it copied
                        break;
                    }
                }

                TransmitterCounters.Increment(ref counters.MeshReceived);
                ReadMessage(lastInPlace);
            }
            finally
            {
                if (_last.IsInitialised)
                {
                    _last.Close();
                }

                _last.InitEmpty();
            }
        }

        _frames.Clear();

        if (read > 0)
        {
            mesh.AfterStreams?.Invoke();
        }
    }

    public void Dispose()
    {
        _sub?.Dispose();
        if (_last.IsInitialised)
        {
            _last.Close();
        }
    }

    /// <summary>
    /// One message: <see cref="_frames"/>, then, when <paramref name="lastInPlace"/>, its last frame in <see cref="_last"/>.
    /// Frames after the body are ignored.
    /// </summary>
    private void ReadMessage(bool lastInPlace)
    {
        var start = LeftoverTopics(_frames, _ownTopic);
        if (start > 0)
        {
            log.Malformed("a peer's event socket", $"{start} leftover topic frame(s) glued in front of a message (NetMQ #614): dropped, the message is read");
        }

        var count = _frames.Count + (lastInPlace ? 1 : 0) - start;
        if (count < 2)
        {
            log.Malformed("a peer's event socket", "a message of one frame (a topic and a header are two)");
            return;
        }

        ReadOnlySpan<byte> header = start + 1 < _frames.Count ? _frames[start + 1] : _last.Slice();
        ReadOnlySpan<byte> body = count < 3 ? default : start + 2 < _frames.Count ? _frames[start + 2] : _last.Slice();
        OnMessage(_frames[start], header, body, hasBody: count > 2);
    }

    private void OnMessage(byte[] topic, ReadOnlySpan<byte> frame, ReadOnlySpan<byte> body, bool hasBody)
    {
        var directed = !topic.AsSpan().SequenceEqual(BroadcastTopic);
        if (directed && hasBody && ForwardMessage.TryReadCanonical(frame, out var canonical))
        {
            Forwarded(canonical, body); // a burst of forwarded events, in the form transmitters write it: no JSON parser
            return;
        }

        if (!MeshFrames.TryParse(frame, out var command, out var json, out var error))
        {
            log.Malformed("a peer's event socket", error!);
            return;
        }

        switch (command)
        {
            case MeshCommand.Puls when !directed && PulseMessage.TryRead(json!, out var pulse, out error):
                var h = pulse!.Header;
                if (h.Id == Membership.Id || _streams.ObservePulse(h.Id, h.Incarnation, StreamKind.Broadcast, h.Seq, out var lost) == StreamVerdict.Stale)
                {
                    return;
                }

                if (lost > 0)
                {
                    Gap(h, StreamKind.Broadcast, lost);
                }

                if (pulse.Directed.TryGetValue(Membership.Id, out var last) && _streams.ObservePulse(h.Id, h.Incarnation, StreamKind.Directed, last, out lost) == StreamVerdict.Gap)
                {
                    Gap(h, StreamKind.Directed, lost);
                }

                if (pulse.Forward.TryGetValue(Membership.Id, out var forward))
                {
                    mesh.Inbox.Pulse(h.Id, h.Incarnation, forward.To, forward.Last);
                }

                Membership.Heard(h.Id, h.Incarnation);
                return;
            case MeshCommand.Memb when !directed && MembersMessage.TryRead(json!, out var members, out error):
                if (!Sequenced(members!.Header, StreamKind.Broadcast))
                {
                    return;
                }

                Membership.Heard(members.Header.Id, members.Header.Incarnation);
                Membership.OnMembers(members, answer: false);
                return;
            case MeshCommand.Cels when !directed && CellsMessage.TryRead(json!, out var cells, out error):
                if (!Sequenced(cells!.Header, StreamKind.Broadcast))
                {
                    return;
                }

                Membership.Heard(cells.Header.Id, cells.Header.Incarnation);
                mesh.Cells.Apply(cells.Header.Id, cells.Cells);
                return;
            case MeshCommand.Fwrd when directed && hasBody && ForwardMessage.TryRead(json!, out var forwarded, out error):
                Forwarded(forwarded, body);
                return;
            case MeshCommand.Gone when directed && GoneMessage.TryRead(json!, out var gone, out error):
                Membership.Heard(gone.Header.Id, gone.Header.Incarnation);
                mesh.Inbox.Gone(gone.Header.Id, gone.Header.Incarnation, gone.To, gone.From, gone.Through);
                return;
            case MeshCommand.Pong or MeshCommand.Pnak when directed && ProbeAnswer.TryRead(json!, out var answer, out error):
                if (!Sequenced(answer.Header, StreamKind.Directed))
                {
                    return;
                }

                Membership.Heard(answer.Header.Id, answer.Header.Incarnation);
                Membership.OnAnswer(command, answer.Nonce);
                return;
            default:
                log.Malformed("a peer's event socket", error ?? $"{MeshCommands.Of(command)} does not travel on {(directed ? "a directed" : "the broadcast")} topic");
                return;
        }
    }

    /// <summary>A <c>FWRD</c>: its records go to the forward inbox, which puts them in order.</summary>
    private void Forwarded(in ForwardMessage forwarded, ReadOnlySpan<byte> body)
    {
        if (forwarded.Header.Id == Membership.Id)
        {
            return;
        }

        Membership.Heard(forwarded.Header.Id, forwarded.Header.Incarnation);
        mesh.Inbox.Receive(forwarded.Header.Id, forwarded.Header.Incarnation, forwarded.To, forwarded.Header.Seq, body);
    }

    /// <summary>Checks a message's number in its stream; false when it is from an old incarnation (or from ourselves).</summary>
    private bool Sequenced(StreamHeader header, StreamKind kind)
    {
        if (header.Id == Membership.Id)
        {
            return false;
        }

        var verdict = _streams.Observe(header.Id, header.Incarnation, kind, header.Seq, out var lost);
        if (verdict == StreamVerdict.Gap)
        {
            Gap(header, kind, lost);
        }

        return verdict != StreamVerdict.Stale;
    }

    /// <summary>
    /// Messages of a stream were lost. A broadcast gap is repaired with a snapshot (a <c>JOIN</c>, answered with the
    /// whole membership as of a number past the gap). The directed stream carries only probe answers in this version,
    /// which are not repaired (a lost one fails its probe, which the indirect probes make up for); the gap is counted.
    /// </summary>
    private void Gap(StreamHeader header, StreamKind kind, long lost)
    {
        TransmitterCounters.Add(ref counters.MeshGaps, lost);
        if (log.Warnings.Allow(WarningKind.PeerStreamGap))
        {
            log.Log.Warning("Lost {Lost} message(s) of peer {PeerId}'s {Stream} stream (before number {Seq}){Repair}",
                lost, header.Id, kind == StreamKind.Broadcast ? "broadcast" : "directed", header.Seq,
                kind == StreamKind.Broadcast ? "; asking it for a snapshot" : "");
        }

        if (kind == StreamKind.Broadcast
            && (!_snapshotAskedAt.TryGetValue(header.Id, out var askedAt) || clock.Now - askedAt >= _snapshotPause)
            && mesh.Links.Join(header.Id))
        {
            _snapshotAskedAt[header.Id] = clock.Now;
            TransmitterCounters.Increment(ref counters.MeshSnapshots);
        }
    }
}
