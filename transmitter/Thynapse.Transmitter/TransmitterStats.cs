namespace Thynapse.Transmitter;

/// <summary>A snapshot of a transmitter's counters (also published as metrics, meter <c>Thynapse.Transmitter</c>).</summary>
public sealed record TransmitterStats
{
    /// <summary>Events accepted from cells.</summary>
    public long EventsReceived { get; init; }

    /// <summary>Events refused with <c>ERRR</c>.</summary>
    public long EventsRejected { get; init; }

    /// <summary>Accepted events that matched no receiver.</summary>
    public long EventsWithoutReceiver { get; init; }

    /// <summary>Events handed to a cell's queue.</summary>
    public long Deliveries { get; init; }

    /// <summary>Deliveries dropped because the cell's queue was full or the cell was gone (the cell is told with <c>SLOW</c>).</summary>
    public long DeliveriesDropped { get; init; }

    /// <summary>Confirmations dropped because the publisher's queue was full.</summary>
    public long ConfirmationsDropped { get; init; }

    /// <summary>Control replies dropped because the cell's queue was full.</summary>
    public long RepliesDropped { get; init; }

    /// <summary><c>ERRR</c> replies sent.</summary>
    public long ProtocolErrors { get; init; }

    /// <summary>Cells welcomed since start.</summary>
    public long CellsJoined { get; init; }

    /// <summary>Cells that said <c>GBYE</c>.</summary>
    public long CellsLeft { get; init; }

    /// <summary>Cells dropped after the liveness timeout.</summary>
    public long CellsExpired { get; init; }

    /// <summary>Cells whose connection closed.</summary>
    public long CellsDisconnected { get; init; }

    /// <summary>Cells with a session now.</summary>
    public long Cells { get; init; }

    /// <summary>Subscriptions now.</summary>
    public long Subscriptions { get; init; }

    /// <summary>Anycatch deliveries acknowledged.</summary>
    public long Acks { get; init; }

    /// <summary>Anycatch deliveries refused by their cell (<c>NACK</c>).</summary>
    public long Nacks { get; init; }

    /// <summary>Anycatch deliveries not acknowledged within their timeout.</summary>
    public long AckTimeouts { get; init; }

    /// <summary>Acknowledgements for deliveries no longer in flight.</summary>
    public long LateAcks { get; init; }

    /// <summary>Anycatch deliveries sent again after a failed attempt.</summary>
    public long Redeliveries { get; init; }

    /// <summary>Events that used up their attempts and went to a dead-letter channel.</summary>
    public long DeadLetters { get; init; }

    /// <summary>Dead letters nobody caught (or that failed again), dropped.</summary>
    public long DeadLettersDropped { get; init; }

    /// <summary>Acknowledging anycatch deliveries in flight now.</summary>
    public long InFlight { get; init; }

    /// <summary>Acknowledging anycatch deliveries waiting for a cell with room now.</summary>
    public long Queued { get; init; }

    /// <summary><c>DONE</c> notices sent.</summary>
    public long Completions { get; init; }

    /// <summary>Times a cell's full queue started a backlog at the transmitter (PROTOCOL.md §8.2).</summary>
    public long Backlogs { get; init; }

    /// <summary>Times a cell took nothing from its backlog within the grace and was judged slow.</summary>
    public long SlowVerdicts { get; init; }

    /// <summary>Times a publisher's credit was paused for a cell with a backlog (PROTOCOL.md §8.4).</summary>
    public long CreditPauses { get; init; }

    /// <summary>Cells whose session was ended because their queue stayed full for the liveness timeout.</summary>
    public long CellsCutOff { get; init; }

    /// <summary><c>HELO</c>s refused with <c>NOT_READY</c> while the transmitter joined its mesh (the readiness gate).</summary>
    public long CellsNotReady { get; init; }

    /// <summary>Cells that moved here from another transmitter of the mesh (their claim proven by their resume token).</summary>
    public long CellsMovedIn { get; init; }

    /// <summary>Sessions ended here because another transmitter's newer claim on the cell won (the cell moved away).</summary>
    public long CellsMovedOut { get; init; }

    /// <summary>Multicatch deliveries departed cells missed while away (told when they re-join).</summary>
    public long MissedWhileAway { get; init; }

    /// <summary>Ack deadlines extended by <c>PROG</c>.</summary>
    public long Extensions { get; init; }

    /// <summary>Connections accepted on the command socket.</summary>
    public long ConnectionsAccepted { get; init; }

    /// <summary>Connections refused past <see cref="TransmitterOptions.MaxConnections"/>, or that could not be accepted.</summary>
    public long ConnectionsRefused { get; init; }

    /// <summary>Connections closed at once because their source address had <see cref="TransmitterOptions.MaxConnectionsPerAddress"/> open.</summary>
    public long ConnectionsRefusedPerAddress { get; init; }

    /// <summary>Events refused with <c>RATE_LIMITED</c>: their cell was over <see cref="TransmitterOptions.MaxPublishRate"/>.</summary>
    public long EventsRateLimited { get; init; }

    /// <summary>Connections closed for sending no command within <see cref="TransmitterOptions.HandshakeTimeout"/>.</summary>
    public long HandshakeTimeouts { get; init; }

    /// <summary>Connections that ended before their ZeroMQ identity was read, whose pipes NetMQ kept until swept.</summary>
    public long DeadPipesSwept { get; init; }

    /// <summary><c>HELO</c>s refused with <c>AUTHENTICATION_FAILED</c>.</summary>
    public long AuthenticationFailures { get; init; }

    /// <summary><c>HELO</c>s refused with <c>KEY_NOT_ALLOWED</c> (no key proof, a bad one, or a cell key not on the allow-list).</summary>
    public long KeysRefused { get; init; }

    /// <summary><c>HELO</c>s refused with <c>ID_IN_USE</c> or <c>ID_RESERVED</c> (a THID claimed without its token).</summary>
    public long ClaimsRefused { get; init; }

    /// <summary><c>HELO</c>s refused with <c>TOO_MANY_ATTEMPTS</c> (not checked: their source failed too often).</summary>
    public long AttemptsThrottled { get; init; }

    /// <summary>Times a source address was blocked for <see cref="TransmitterOptions.FailedAttemptBlock"/>.</summary>
    public long SourcesBlocked { get; init; }

    /// <summary>Connections open now.</summary>
    public long Connections { get; init; }

    /// <summary>Time the routing thread did not run (stalls longer than its clock's step), not counted against cells.</summary>
    public TimeSpan RoutingStalled { get; init; }

    /// <summary>Peer transmitters held alive now.</summary>
    public long PeersAlive { get; init; }

    /// <summary>Peer transmitters suspected now.</summary>
    public long PeersSuspect { get; init; }

    /// <summary>Peer transmitters held dead now (retried forever).</summary>
    public long PeersDead { get; init; }

    /// <summary>The mesh's local health score (0: healthy; higher stretches probe and suspicion timeouts, Lifeguard).</summary>
    public int MeshHealth { get; init; }

    /// <summary>Times a peer joined, or came back alive with a higher incarnation.</summary>
    public long PeerJoins { get; init; }

    /// <summary>Peers that left gracefully.</summary>
    public long PeerLeaves { get; init; }

    /// <summary>Suspicions started (by this transmitter's probes or adopted from others).</summary>
    public long PeerSuspicions { get; init; }

    /// <summary>Peers declared dead (by this transmitter or adopted from others).</summary>
    public long PeerDeaths { get; init; }

    /// <summary>Times this transmitter refuted a suspicion or a death of itself with a higher incarnation.</summary>
    public long MeshRefutations { get; init; }

    /// <summary>Direct probes sent.</summary>
    public long MeshProbes { get; init; }

    /// <summary>Probes that got no answer, direct or indirect, within the probe interval.</summary>
    public long MeshProbesFailed { get; init; }

    /// <summary>Indirect probe requests sent.</summary>
    public long MeshIndirectProbes { get; init; }

    /// <summary>Joins tried (seeds and dead peers).</summary>
    public long MeshJoinAttempts { get; init; }

    /// <summary>Joins that got no answer in time (retried with backoff).</summary>
    public long MeshJoinFailures { get; init; }

    /// <summary>Messages of peers' streams found missing (sequence gaps).</summary>
    public long MeshMessagesLost { get; init; }

    /// <summary>Cells of other transmitters held in the replicated directory now (PROTOCOL.md §12.8).</summary>
    public long MeshRemoteCells { get; init; }

    /// <summary>Cell records from peers applied to the replicated directory.</summary>
    public long MeshCellRecords { get; init; }

    /// <summary>Cell records from peers ignored as no newer than what was held (repeated, reordered, older than a snapshot or a tombstone).</summary>
    public long MeshCellRecordsStale { get; init; }

    /// <summary>Events forwarded to peers, one per event per peer with interest (PROTOCOL.md §12.11).</summary>
    public long MeshEventsForwarded { get; init; }

    /// <summary>Events peers forwarded here, handed on in their streams' order.</summary>
    public long MeshForwardsReceived { get; init; }

    /// <summary>Forward-stream messages sent again because a peer asked (<c>RSND</c>).</summary>
    public long MeshForwardsResent { get; init; }

    /// <summary>Forward-stream messages peers asked for that were past the retransmit buffer (answered <c>GONE</c>).</summary>
    public long MeshForwardsGone { get; init; }

    /// <summary>Forward-stream messages from peers that were lost and not repaired (counted and logged, never silent).</summary>
    public long MeshForwardsLost { get; init; }

    /// <summary>Answers about forwarded deliveries (a cell's ack, nack or progress, or a gone cell) relayed to their ingress (PROTOCOL.md §12.11).</summary>
    public long MeshOutcomesRelayed { get; init; }

    /// <summary>Load reports about local cells sent to other transmitters (kind-4 records, §12.11).</summary>
    public long MeshLoadReports { get; init; }

    /// <summary>Deliveries to one cell that peers forwarded here and that found the cell (or its subscription) gone: answered <c>Gone</c>.</summary>
    public long MeshDeliveriesMissed { get; init; }

    /// <summary>Unacknowledged anycatch events this ingress forwarded to a cell that was gone at its transmitter: lost (counted, logged).</summary>
    public long MeshAnycatchLost { get; init; }

    /// <summary>Snapshots asked for to repair a gap.</summary>
    public long MeshSnapshots { get; init; }

    /// <summary>Malformed mesh messages ignored.</summary>
    public long MeshMalformed { get; init; }

    /// <summary>Mesh requests refused, and answers ignored, for the cluster secret (not proven, or a wrong proof, §12.12).</summary>
    public long MeshAuthFailures { get; init; }

    /// <summary>Mesh messages sent (requests, answers, broadcasts, pulses).</summary>
    public long MeshMessagesSent { get; init; }

    /// <summary>Mesh messages received.</summary>
    public long MeshMessagesReceived { get; init; }
}
