namespace Thynapse.Transmitter.Diagnostics;

/// <summary>
/// Plain counters read from anywhere: the hot path pays one increment, and <see cref="TransmitterMetrics"/>
/// publishes them as observable instruments. The routing thread writes them, except the connection counters
/// (accepted, refused, closed, handshake timeouts), which the connection guard's thread writes. Each counter has one
/// writing thread: that is what makes a volatile read-add-write enough.
/// </summary>
internal sealed class TransmitterCounters
{
    public long EventsReceived;
    public long EventsRejected;
    public long EventsWithoutReceiver;
    public long Deliveries;
    public long DeliveriesDropped;
    public long ConfirmationsDropped;
    public long RepliesDropped;
    public long ProtocolErrors;
    public long CellsJoined;
    public long CellsLeft;
    public long CellsExpired;
    public long CellsDisconnected;
    public long Cells;
    public long Subscriptions;
    public long Acks;
    public long Nacks;
    public long AckTimeouts;
    public long LateAcks;
    public long Redeliveries;
    public long DeadLetters;
    public long DeadLettersDropped;
    public long InFlight;
    public long Queued;
    public long Completions;
    public long Backlogs;
    public long SlowVerdicts;
    public long CreditPauses;
    public long CellsCutOff;

    /// <summary><c>HELO</c>s refused with <c>NOT_READY</c> while the readiness gate was closed (PROTOCOL.md §12.8).</summary>
    public long CellsNotReady;

    /// <summary>Cells that moved here from another transmitter, proving their claim (PROTOCOL.md §12.8).</summary>
    public long CellsMovedIn;

    /// <summary>Sessions ended because another transmitter's newer claim on the cell won.</summary>
    public long CellsMovedOut;
    public long MissedWhileAway;
    public long Extensions;
    public long RoutingStalledTicks;
    public long ConnectionsAccepted;
    public long ConnectionsRefused;

    /// <summary>Connections closed at once because their source address had MaxConnectionsPerAddress open (Wire/ConnectionGuard).</summary>
    public long ConnectionsRefusedPerAddress;

    /// <summary>Events refused with RATE_LIMITED: their cell was over MaxPublishRate (Routing/EventRouter).</summary>
    public long EventsRateLimited;
    public long ConnectionsClosed;
    public long HandshakeTimeouts;

    /// <summary>Connections that ended before their ZeroMQ identity was read, whose pipes NetMQ kept until swept (Wire/DeadPipeSweeper).</summary>
    public long DeadPipesSwept;
    public long AuthenticationFailures;

    /// <summary><c>HELO</c>s refused with <c>KEY_NOT_ALLOWED</c>: no key proof, a bad one, or a key not on the allow-list.</summary>
    public long KeysRefused;
    public long ClaimsRefused;
    public long AttemptsThrottled;
    public long SourcesBlocked;

    // The mesh (Mesh/Membership, Mesh/PeerLinks), routing thread: gauges first, then totals.
    public long MeshAlive;
    public long MeshSuspect;
    public long MeshDead;
    public long MeshHealth;
    public long MeshRemoteCells;
    public long MeshJoins;
    public long MeshLeaves;
    public long MeshSuspicions;
    public long MeshDeaths;
    public long MeshRefutations;
    public long MeshProbes;
    public long MeshProbesFailed;
    public long MeshIndirectProbes;
    public long MeshJoinAttempts;
    public long MeshJoinFailures;
    public long MeshGaps;
    public long MeshSnapshots;
    public long MeshMalformed;
    public long MeshAuthFailures;
    public long MeshCellRecords;
    public long MeshCellRecordsStale;
    public long MeshSent;
    public long MeshReceived;
    public long MeshEventsForwarded;
    public long MeshForwardsReceived;
    public long MeshForwardsResent;
    public long MeshForwardsGone;
    public long MeshForwardsLost;
    public long MeshOutcomesRelayed;

    /// <summary>Kind-4 load reports sent to other transmitters (§12.11).</summary>
    public long MeshLoadReports;
    public long MeshDeliveriesMissed;
    public long MeshAnycatchLost;

    public static long Read(ref long counter) => Volatile.Read(ref counter);

    public static void Add(ref long counter, long value) => Volatile.Write(ref counter, counter + value);

    public static void Increment(ref long counter) => Volatile.Write(ref counter, counter + 1);
}
