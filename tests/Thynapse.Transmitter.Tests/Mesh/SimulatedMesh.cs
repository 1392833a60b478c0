using Microsoft.Extensions.Time.Testing;
using Serilog;
using Thynapse.Core.Internal;
using Thynapse.Transmitter.Diagnostics;

namespace Thynapse.Transmitter.Tests.Mesh;

/// <summary>
/// A mesh of <see cref="Membership"/> engines on one fake clock, joined by a network that delivers what they send, in
/// order, at the next step: no sockets, no threads, no sleeping. A node can be killed (drops everything, never ticks
/// again), stopped (like SIGSTOP: its inbox fills, its clock is not read, and when it runs again it sees the stall),
/// restarted with the same THID and a higher incarnation, or cut off from some others.
/// </summary>
internal sealed class SimulatedMesh
{
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    private readonly List<Node> _nodes = [];
    private readonly HashSet<(Thid From, Thid To)> _cut = [];

    public SimulatedMesh(MeshOptions? options = null, int seed = 1)
    {
        Options = options ?? MeshOptions.Default;
        Random = new Random(seed);
        Time.SetUtcNow(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    }

    public FakeTimeProvider Time { get; } = new() { AutoAdvanceAmount = TimeSpan.Zero };

    public MeshOptions Options { get; }

    public Random Random { get; }

    public TimeSpan Elapsed { get; private set; }

    /// <summary>Every (from, to) delivery that was dropped because a node was dead or cut off.</summary>
    public int Dropped { get; private set; }

    /// <summary>Adds a node named <paramref name="name"/> (its endpoints derive from it), joining through <paramref name="seeds"/>.</summary>
    public Node Add(string name, params Node[] seeds) => Add(name, Thid.NewRandom(), seeds);

    public Node Add(string name, Thid id, params Node[] seeds)
    {
        var incarnation = Time.GetUtcNow().ToUnixTimeMilliseconds();
        var node = new Node(this, name, id, incarnation);
        _nodes.Add(node);
        foreach (var seed in seeds)
        {
            node.Membership.AddSeed(seed.CommandEndpoint);
        }

        return node;
    }

    /// <summary>Adds a, then b joining through a; asserts that within a second both hold each other alive.</summary>
    public (Node A, Node B) JoinTwo()
    {
        var a = Add("a");
        var b = Add("b", a);
        Assert.IsTrue(Run(TimeSpan.FromSeconds(1), () => AllSeeAll(a, b)), Describe(a, b));
        return (a, b);
    }

    /// <summary>Adds a, b joining through a and c through b; asserts that within a second all hold all alive.</summary>
    public (Node A, Node B, Node C) JoinThree()
    {
        var a = Add("a");
        var b = Add("b", a);
        var c = Add("c", b);
        Assert.IsTrue(Run(TimeSpan.FromSeconds(1), () => AllSeeAll(a, b, c)), Describe(a, b, c));
        return (a, b, c);
    }

    /// <summary>Adds a, then b, c and d joining through a; asserts that within a second all hold all alive.</summary>
    public (Node A, Node B, Node C, Node D) JoinFour()
    {
        var a = Add("a");
        var (b, c, d) = (Add("b", a), Add("c", a), Add("d", a));
        Assert.IsTrue(Run(TimeSpan.FromSeconds(1), () => AllSeeAll(a, b, c, d)), Describe(a, b, c, d));
        return (a, b, c, d);
    }

    /// <summary>Every one of <paramref name="nodes"/> holds every other alive, in its current incarnation.</summary>
    public static bool AllSeeAll(params Node[] nodes) =>
        nodes.All(n => nodes.Where(o => o != n).All(o => n.StateOf(o) == PeerState.Alive && n.IncarnationOf(o) == o.Membership.Incarnation));

    /// <summary>What each of <paramref name="nodes"/> sees, and its last log line: for an assertion's message.</summary>
    public static string Describe(params Node[] nodes) => string.Join("; ", nodes.Select(n =>
        $"{n.Name} sees [{string.Join(", ", n.Membership.Members.Select(m => $"{NameOf(nodes, m.Id)}={m.State}@{m.Incarnation}"))}]"
        + $" last log: {(n.LogLines.Lines.Count > 0 ? n.LogLines.Lines[^1] : "")}"));

    private static string NameOf(Node[] nodes, Thid id) => nodes.FirstOrDefault(n => n.Id == id)?.Name ?? id.ToString()[..6];

    /// <summary>A node that is not up is not a destination; cut pairs drop both ways.</summary>
    public void Cut(Node a, Node b)
    {
        _cut.Add((a.Id, b.Id));
        _cut.Add((b.Id, a.Id));
    }

    public void Heal() => _cut.Clear();

    /// <summary>Runs the mesh for <paramref name="duration"/> in steps of 10 ms; stops early when <paramref name="until"/> holds.</summary>
    public bool Run(TimeSpan duration, Func<bool>? until = null)
    {
        var end = Elapsed + duration;
        while (Elapsed < end)
        {
            Time.Advance(Step);
            Elapsed += Step;
            foreach (var node in _nodes.Where(n => n.Running).ToList())
            {
                // As the transmitter does: read what already arrived before judging anyone (PeerLinks' tick).
                node.Clock.Advance();
                while (node.Running && node.Inbox.TryDequeue(out var message))
                {
                    message();
                }

                node.Membership.Tick();
                node.Cells.Tick();
                node.PulseIfDue();
            }

            Deliver();
            if (until?.Invoke() == true)
            {
                return true;
            }
        }

        return until?.Invoke() ?? true;
    }

    /// <summary>Delivers until nothing is left in flight to running nodes.</summary>
    public void Deliver()
    {
        for (var rounds = 0; rounds < 100; rounds++)
        {
            var any = false;
            foreach (var node in _nodes.Where(n => n.Running))
            {
                while (node.Inbox.TryDequeue(out var message))
                {
                    any = true;
                    node.Clock.Advance();
                    message();
                }
            }

            if (!any)
            {
                return;
            }
        }
    }

    internal Node? ByEndpoint(string command) => _nodes.LastOrDefault(n => n.CommandEndpoint == command && n.Up);

    internal Node? ById(Thid id) => _nodes.LastOrDefault(n => n.Id == id && n.Up);

    /// <summary>Queues <paramref name="deliver"/> at <paramref name="to"/> unless it is dead or cut off from <paramref name="from"/>.</summary>
    internal void Send(Node from, Node? to, Action deliver)
    {
        if (to is null || !to.Up || _cut.Contains((from.Id, to.Id)))
        {
            Dropped++;
            return;
        }

        to.Inbox.Enqueue(deliver);
    }

    internal IEnumerable<Node> ListenersOf(Node source) => _nodes.Where(n => n.Up && n.Listens.Contains(source.Id));

    /// <summary>One transmitter: its membership, its clock, and what the network holds for it.</summary>
    internal sealed class Node : IPeerTransport
    {
        private readonly SimulatedMesh _mesh;
        private readonly HashSet<int> _openAttempts = [];
        private long _nextPulse;

        public Node(SimulatedMesh mesh, string name, Thid id, long incarnation)
        {
            _mesh = mesh;
            Name = name;
            Id = id;
            Clock = new StallAwareClock(mesh.Time, TimeSpan.FromMilliseconds(200));
            Log = new LoggerConfiguration().MinimumLevel.Verbose().WriteTo.Sink(LogLines).CreateLogger();
            Membership = new Membership(id, incarnation, CommandEndpoint, $"tcp://{name}:2", mesh.Options, this, Clock, mesh.Time, Counters, Log, new Random(mesh.Random.Next()));
            Cells = new CellReplica(() => Membership.Incarnation, Serving, Clock, mesh.Options.CellTombstoneTime, Counters) { Publish = PublishCell };
            Membership.Gone += member => Cells.OwnerGone(member.Id);
        }

        /// <summary>Its replicated cell directory: its own cells (changed by the test) and the others'.</summary>
        public CellReplica Cells { get; }

        /// <summary>Set to lose every cell record broadcast to this node (as PUB drops past its high-water mark).</summary>
        public bool LoseCellRecords { get; set; }

        public string Name { get; }

        public Thid Id { get; }

        public string CommandEndpoint => $"tcp://{Name}:1";

        public StallAwareClock Clock { get; }

        public Membership Membership { get; }

        public TransmitterCounters Counters { get; } = new();

        public LogCollector LogLines { get; } = new();

        public ILogger Log { get; }

        public bool Up { get; private set; } = true;

        public bool Stopped { get; private set; }

        public bool Running => Up && !Stopped;

        public Queue<Action> Inbox { get; } = new();

        /// <summary>Nodes whose streams this one hears (linked, or kept after a death).</summary>
        public HashSet<Thid> Listens { get; } = [];

        /// <summary>How many times this node closed its links to each member (a death, a leave, a restart; never a refutation).</summary>
        public Dictionary<Thid, int> Unlinks { get; } = [];

        /// <summary>Set to drop every PONG this node sends (it still pulses and broadcasts).</summary>
        public bool MutePongs { get; set; }

        /// <summary>What this node holds <paramref name="other"/> to be, or null when it does not know it.</summary>
        public PeerState? StateOf(Node other) => Membership.TryGet(other.Id, out var m) ? m.State : null;

        public long? IncarnationOf(Node other) => Membership.TryGet(other.Id, out var m) ? m.Incarnation : null;

        public void Kill()
        {
            Up = false;
            Inbox.Clear();
        }

        /// <summary>SIGSTOP: nothing runs; what is sent to it waits.</summary>
        public void Stop() => Stopped = true;

        /// <summary>SIGCONT: it reads its clock (a stall), then its inbox.</summary>
        public void Continue() => Stopped = false;

        /// <summary>Repairs a gap in <paramref name="other"/>'s broadcast stream as PeerLinks does: a JOIN, whose answer is a snapshot.</summary>
        public void RepairGap(Node other)
        {
            if (Membership.TryGet(other.Id, out var member))
            {
                PushPull(member);
            }
        }

        public void PulseIfDue()
        {
            var now = Clock.Now;
            if (now < _nextPulse || Membership.Leaving)
            {
                return;
            }

            _nextPulse = now + Clock.TicksOf(_mesh.Options.PulseInterval);
            var incarnation = Membership.Incarnation;
            foreach (var listener in _mesh.ListenersOf(this).ToList())
            {
                _mesh.Send(this, listener, () => listener.Membership.Heard(Id, incarnation));
            }
        }

        public void Link(Member member)
        {
            Listens.Add(member.Id);
            PushPull(member);
        }

        public void Unlink(Member member, bool keepListening)
        {
            Unlinks[member.Id] = Unlinks.GetValueOrDefault(member.Id) + 1;
            if (!keepListening)
            {
                Listens.Remove(member.Id);
            }
        }

        public void PushPull(Member member)
        {
            var join = Membership.CreateJoin();
            var to = _mesh.ById(member.Id);
            _mesh.Send(this, to, () =>
            {
                if (to!.Membership.OnJoin(join, out _) == ThynapseErrorCode.None)
                {
                    var answer = to.Answer();
                    _mesh.Send(to, this, () =>
                    {
                        Membership.Heard(to.Id, answer.Header.Incarnation);
                        Membership.OnMembers(answer, answer: true);
                        ApplyCells(to.Id, answer);
                    });
                }
            });
        }

        public void StartAttempt(int attempt, string endpoint)
        {
            _openAttempts.Add(attempt);
            var join = Membership.CreateJoin();
            var to = _mesh.ByEndpoint(endpoint);
            _mesh.Send(this, to, () =>
            {
                if (to!.Membership.OnJoin(join, out _) == ThynapseErrorCode.None)
                {
                    var answer = to.Answer();
                    _mesh.Send(to, this, () =>
                    {
                        if (_openAttempts.Contains(attempt))
                        {
                            Membership.OnAttemptAnswered(attempt, answer);
                            ApplyCells(to.Id, answer);
                        }
                    });
                }
            });
        }

        public void EndAttempt(int attempt) => _openAttempts.Remove(attempt);

        public void Ping(Member target, ulong nonce, long? suspectedAt)
        {
            var to = _mesh.ById(target.Id);
            _mesh.Send(this, to, () =>
            {
                to!.Membership.Heard(Id, Membership.Incarnation);
                to.Membership.OnPing(Id, new PingMessage(nonce, suspectedAt));
            });
        }

        public void PingRequest(Member helper, Thid target, ulong nonce)
        {
            var to = _mesh.ById(helper.Id);
            _mesh.Send(this, to, () =>
            {
                to!.Membership.Heard(Id, Membership.Incarnation);
                to.Membership.OnPingRequest(Id, new PingRequestMessage(nonce, target));
            });
        }

        public void Answer(Thid to, MeshCommand command, ulong nonce)
        {
            if (MutePongs && command == MeshCommand.Pong)
            {
                return;
            }

            var destination = _mesh.ById(to);
            var incarnation = Membership.Incarnation;
            _mesh.Send(this, destination, () =>
            {
                destination!.Membership.Heard(Id, incarnation);
                destination.Membership.OnAnswer(command, nonce);
            });
        }

        public void Broadcast(IReadOnlyList<MemberRecord> records)
        {
            var message = new MembersMessage(new StreamHeader(Id, Membership.Incarnation, 0), [.. records]);
            foreach (var listener in _mesh.ListenersOf(this).ToList())
            {
                _mesh.Send(this, listener, () =>
                {
                    listener.Membership.Heard(Id, message.Header.Incarnation);
                    listener.Membership.OnMembers(message, answer: false);
                });
            }
        }

        public override string ToString() => Name;

        private MembersMessage Answer() => new(new StreamHeader(Id, Membership.Incarnation, 0), Membership.Snapshot(), Cells.LocalSnapshot());

        private bool Serving(Thid id) => Membership.TryGet(id, out var member) && member.State is PeerState.Alive or PeerState.Suspect;

        private void ApplyCells(Thid from, MembersMessage answer)
        {
            if (answer.Cells is { } snapshot && from != Id)
            {
                Cells.ApplySnapshot(from, snapshot);
            }
        }

        private void PublishCell(CellRecord record)
        {
            var incarnation = Membership.Incarnation;
            foreach (var listener in _mesh.ListenersOf(this).ToList())
            {
                if (listener.LoseCellRecords)
                {
                    _mesh.Dropped++;
                    continue;
                }

                _mesh.Send(this, listener, () =>
                {
                    listener.Membership.Heard(Id, incarnation);
                    listener.Cells.Apply(Id, [record]);
                });
            }
        }
    }

    /// <summary>Log lines of one node, rendered, for assertions and for failure messages.</summary>
    public sealed class LogCollector : Serilog.Core.ILogEventSink
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines => _lines;

        public void Emit(Serilog.Events.LogEvent logEvent) => _lines.Add(logEvent.RenderMessage(System.Globalization.CultureInfo.InvariantCulture));
    }
}
