using System.Diagnostics.Metrics;

namespace Thynapse.Transmitter.Diagnostics;

/// <summary>
/// The transmitter's instruments (meter <c>Thynapse.Transmitter</c>), observed from <see cref="TransmitterCounters"/>
/// so that counting costs nothing when nobody listens.
/// </summary>
internal sealed class TransmitterMetrics : IDisposable
{
    public const string MeterName = "Thynapse.Transmitter";
    private readonly Meter _meter;

    public TransmitterMetrics(TransmitterCounters c, string transmitterId, TimeProvider clock)
    {
        _meter = new Meter(MeterName, version: "1", tags: [new("thynapse.transmitter", transmitterId)]);
        _meter.CreateObservableCounter("thynapse.events.received", () => TransmitterCounters.Read(ref c.EventsReceived), "{event}", "Events accepted from cells");
        _meter.CreateObservableCounter("thynapse.events.rejected", () => TransmitterCounters.Read(ref c.EventsRejected), "{event}", "Events refused with ERRR");
        _meter.CreateObservableCounter("thynapse.events.unrouted", () => TransmitterCounters.Read(ref c.EventsWithoutReceiver), "{event}", "Events that matched no receiver");
        _meter.CreateObservableCounter("thynapse.deliveries", () => TransmitterCounters.Read(ref c.Deliveries), "{delivery}", "Events handed to a cell's queue");
        _meter.CreateObservableCounter("thynapse.deliveries.dropped", () => TransmitterCounters.Read(ref c.DeliveriesDropped), "{delivery}", "Deliveries dropped because the cell's queue was full or the cell was gone");
        _meter.CreateObservableCounter("thynapse.confirmations.dropped", () => TransmitterCounters.Read(ref c.ConfirmationsDropped), "{confirmation}", "ACPT records dropped because the publisher's queue was full");
        _meter.CreateObservableCounter("thynapse.replies.dropped", () => TransmitterCounters.Read(ref c.RepliesDropped), "{reply}", "Control replies (OKAY, ERRR, …) dropped because the cell's queue was full");
        _meter.CreateObservableCounter("thynapse.protocol.errors", () => TransmitterCounters.Read(ref c.ProtocolErrors), "{error}", "ERRR replies sent");
        _meter.CreateObservableCounter("thynapse.cells.joined", () => TransmitterCounters.Read(ref c.CellsJoined), "{cell}");
        _meter.CreateObservableCounter("thynapse.cells.left", () => TransmitterCounters.Read(ref c.CellsLeft), "{cell}", "Cells that said GBYE");
        _meter.CreateObservableCounter("thynapse.cells.expired", () => TransmitterCounters.Read(ref c.CellsExpired), "{cell}", "Cells dropped after the liveness timeout");
        _meter.CreateObservableCounter("thynapse.cells.disconnected", () => TransmitterCounters.Read(ref c.CellsDisconnected), "{cell}", "Cells whose connection closed");
        _meter.CreateObservableUpDownCounter("thynapse.cells", () => TransmitterCounters.Read(ref c.Cells), "{cell}", "Cells with a session now");
        _meter.CreateObservableUpDownCounter("thynapse.subscriptions", () => TransmitterCounters.Read(ref c.Subscriptions), "{subscription}");
        _meter.CreateObservableCounter("thynapse.anycatch.acks", () => TransmitterCounters.Read(ref c.Acks), "{ack}", "Anycatch deliveries acknowledged");
        _meter.CreateObservableCounter("thynapse.anycatch.nacks", () => TransmitterCounters.Read(ref c.Nacks), "{nack}", "Anycatch deliveries refused by their cell");
        _meter.CreateObservableCounter("thynapse.anycatch.timeouts", () => TransmitterCounters.Read(ref c.AckTimeouts), "{delivery}", "Anycatch deliveries not acknowledged in time");
        _meter.CreateObservableCounter("thynapse.anycatch.late_acks", () => TransmitterCounters.Read(ref c.LateAcks), "{ack}", "Acks for deliveries no longer in flight");
        _meter.CreateObservableCounter("thynapse.anycatch.redeliveries", () => TransmitterCounters.Read(ref c.Redeliveries), "{delivery}");
        _meter.CreateObservableCounter("thynapse.anycatch.dead_letters", () => TransmitterCounters.Read(ref c.DeadLetters), "{event}", "Events that used up their attempts");
        _meter.CreateObservableCounter("thynapse.anycatch.dead_letters.dropped", () => TransmitterCounters.Read(ref c.DeadLettersDropped), "{event}", "Dead letters nobody caught");
        _meter.CreateObservableUpDownCounter("thynapse.anycatch.in_flight", () => TransmitterCounters.Read(ref c.InFlight), "{delivery}");
        _meter.CreateObservableUpDownCounter("thynapse.anycatch.queued", () => TransmitterCounters.Read(ref c.Queued), "{delivery}", "Deliveries waiting for a cell with room");
        _meter.CreateObservableCounter("thynapse.output.backlogs", () => TransmitterCounters.Read(ref c.Backlogs), "{backlog}", "Times a cell's full queue started a backlog");
        _meter.CreateObservableCounter("thynapse.output.slow_verdicts", () => TransmitterCounters.Read(ref c.SlowVerdicts), "{verdict}", "Times a cell took nothing from its backlog within the grace");
        _meter.CreateObservableCounter("thynapse.credit.pauses", () => TransmitterCounters.Read(ref c.CreditPauses), "{pause}", "Times a publisher's credit waited for a cell's backlog");
        _meter.CreateObservableCounter("thynapse.cells.cut_off", () => TransmitterCounters.Read(ref c.CellsCutOff), "{cell}", "Cells ended because their queue stayed full for the liveness timeout");
        _meter.CreateObservableCounter("thynapse.cells.not_ready", () => TransmitterCounters.Read(ref c.CellsNotReady), "{cell}", "HELOs refused with NOT_READY while the transmitter joined its mesh");
        _meter.CreateObservableCounter("thynapse.cells.moved_in", () => TransmitterCounters.Read(ref c.CellsMovedIn), "{cell}", "Cells that moved here from another transmitter, proving their claim");
        _meter.CreateObservableCounter("thynapse.cells.moved_out", () => TransmitterCounters.Read(ref c.CellsMovedOut), "{cell}", "Sessions ended because another transmitter's newer claim on the cell won");
        _meter.CreateObservableCounter("thynapse.deliveries.missed_away", () => TransmitterCounters.Read(ref c.MissedWhileAway), "{delivery}", "Multicatch deliveries departed cells missed while away");
        _meter.CreateObservableCounter("thynapse.anycatch.extensions", () => TransmitterCounters.Read(ref c.Extensions), "{extension}", "Ack deadlines extended by PROG");
        _meter.CreateObservableCounter("thynapse.connections.accepted", () => TransmitterCounters.Read(ref c.ConnectionsAccepted), "{connection}", "Connections accepted on the command socket");
        _meter.CreateObservableCounter("thynapse.connections.refused", () => TransmitterCounters.Read(ref c.ConnectionsRefused), "{connection}", "Connections refused past the connection limit, or that could not be accepted");
        _meter.CreateObservableCounter("thynapse.events.rate_limited", () => TransmitterCounters.Read(ref c.EventsRateLimited), "{event}", "Events refused with RATE_LIMITED: their cell published more than --max-publish-rate a second");
        _meter.CreateObservableCounter("thynapse.connections.refused_per_address", () => TransmitterCounters.Read(ref c.ConnectionsRefusedPerAddress), "{connection}", "Connections closed at once because their source address had --max-connections-per-address open");
        _meter.CreateObservableCounter("thynapse.auth.keys_refused", () => TransmitterCounters.Read(ref c.KeysRefused), "{attempt}", "HELOs refused with KEY_NOT_ALLOWED (no key proof, a bad one, or a cell CURVE key not on --allowed-keys-file)");
        _meter.CreateObservableCounter("thynapse.auth.failures", () => TransmitterCounters.Read(ref c.AuthenticationFailures), "{attempt}", "HELOs refused with AUTHENTICATION_FAILED (no secret, a wrong one, or a service the credential does not name)");
        _meter.CreateObservableCounter("thynapse.auth.claims_refused", () => TransmitterCounters.Read(ref c.ClaimsRefused), "{attempt}", "HELOs refused with ID_IN_USE or ID_RESERVED: a THID claimed without its session's resume token");
        _meter.CreateObservableCounter("thynapse.auth.throttled", () => TransmitterCounters.Read(ref c.AttemptsThrottled), "{attempt}", "HELOs refused with TOO_MANY_ATTEMPTS, unchecked, from a source that failed too often");
        _meter.CreateObservableCounter("thynapse.auth.sources_blocked", () => TransmitterCounters.Read(ref c.SourcesBlocked), "{source}", "Source addresses refused for FailedAttemptBlock after MaxFailedAttempts failures");
        _meter.CreateObservableCounter("thynapse.connections.handshake_timeouts", () => TransmitterCounters.Read(ref c.HandshakeTimeouts), "{connection}", "Connections closed for sending no command within the handshake timeout");
        _meter.CreateObservableCounter("thynapse.connections.dead_pipes_swept", () => TransmitterCounters.Read(ref c.DeadPipesSwept), "{connection}", "Connections that ended before their identity was read, whose buffers NetMQ kept until the transmitter swept them");
        _meter.CreateObservableCounter("thynapse.routing.stalled", () => clock.GetElapsedTime(0, TransmitterCounters.Read(ref c.RoutingStalledTicks)).TotalSeconds, "s", "Time the routing thread did not run, not counted against cells");
        _meter.CreateObservableUpDownCounter("thynapse.mesh.peers.alive", () => TransmitterCounters.Read(ref c.MeshAlive), "{transmitter}", "Peer transmitters held alive");
        _meter.CreateObservableUpDownCounter("thynapse.mesh.peers.suspect", () => TransmitterCounters.Read(ref c.MeshSuspect), "{transmitter}", "Peer transmitters suspected");
        _meter.CreateObservableUpDownCounter("thynapse.mesh.peers.dead", () => TransmitterCounters.Read(ref c.MeshDead), "{transmitter}", "Peer transmitters held dead (retried)");
        _meter.CreateObservableGauge("thynapse.mesh.health", () => TransmitterCounters.Read(ref c.MeshHealth), "{score}", "Local health score: 0 is healthy; n stretches probe and suspicion timeouts n+1 times");
        _meter.CreateObservableCounter("thynapse.mesh.forwards.sent", () => TransmitterCounters.Read(ref c.MeshEventsForwarded), "{event}", "Events forwarded to peers, one per event per peer (PROTOCOL.md §12.11)");
        _meter.CreateObservableCounter("thynapse.mesh.forwards.received", () => TransmitterCounters.Read(ref c.MeshForwardsReceived), "{event}", "Events peers forwarded here, in order");
        _meter.CreateObservableCounter("thynapse.mesh.forwards.resent", () => TransmitterCounters.Read(ref c.MeshForwardsResent), "{message}", "Forward-stream messages sent again on a peer's RSND");
        _meter.CreateObservableCounter("thynapse.mesh.forwards.gone", () => TransmitterCounters.Read(ref c.MeshForwardsGone), "{message}", "Forward-stream messages a peer asked for that were past the retransmit buffer");
        _meter.CreateObservableCounter("thynapse.mesh.forwards.lost", () => TransmitterCounters.Read(ref c.MeshForwardsLost), "{message}", "Forward-stream messages from peers that were lost: not repaired");
        _meter.CreateObservableCounter("thynapse.mesh.outcomes.relayed", () => TransmitterCounters.Read(ref c.MeshOutcomesRelayed), "{outcome}", "A cell's answers about forwarded deliveries relayed to their ingress");
        _meter.CreateObservableCounter("thynapse.mesh.load_reports", () => TransmitterCounters.Read(ref c.MeshLoadReports), "{report}", "Load reports about local cells sent to other transmitters for their anycatch choices");
        _meter.CreateObservableCounter("thynapse.mesh.deliveries.missed", () => TransmitterCounters.Read(ref c.MeshDeliveriesMissed), "{event}", "Forwarded deliveries whose cell was gone here (answered Gone to the ingress)");
        _meter.CreateObservableCounter("thynapse.mesh.anycatch.lost", () => TransmitterCounters.Read(ref c.MeshAnycatchLost), "{event}", "Unacknowledged anycatch events forwarded to a cell gone at its transmitter: lost");
        _meter.CreateObservableCounter("thynapse.mesh.joins", () => TransmitterCounters.Read(ref c.MeshJoins), "{transmitter}", "Peers that joined or came back alive");
        _meter.CreateObservableCounter("thynapse.mesh.leaves", () => TransmitterCounters.Read(ref c.MeshLeaves), "{transmitter}", "Peers that left gracefully");
        _meter.CreateObservableCounter("thynapse.mesh.suspicions", () => TransmitterCounters.Read(ref c.MeshSuspicions), "{suspicion}", "Suspicions started");
        _meter.CreateObservableCounter("thynapse.mesh.deaths", () => TransmitterCounters.Read(ref c.MeshDeaths), "{transmitter}", "Peers declared dead");
        _meter.CreateObservableCounter("thynapse.mesh.refutations", () => TransmitterCounters.Read(ref c.MeshRefutations), "{refutation}", "Suspicions of this transmitter refuted");
        _meter.CreateObservableCounter("thynapse.mesh.probes", () => TransmitterCounters.Read(ref c.MeshProbes), "{probe}", "Direct probes sent");
        _meter.CreateObservableCounter("thynapse.mesh.probes.failed", () => TransmitterCounters.Read(ref c.MeshProbesFailed), "{probe}", "Probes unanswered within the probe interval");
        _meter.CreateObservableCounter("thynapse.mesh.probes.indirect", () => TransmitterCounters.Read(ref c.MeshIndirectProbes), "{probe}", "Indirect probe requests sent");
        _meter.CreateObservableCounter("thynapse.mesh.join_attempts", () => TransmitterCounters.Read(ref c.MeshJoinAttempts), "{attempt}", "Joins tried (seeds and dead peers)");
        _meter.CreateObservableCounter("thynapse.mesh.join_failures", () => TransmitterCounters.Read(ref c.MeshJoinFailures), "{attempt}", "Joins unanswered in time");
        _meter.CreateObservableCounter("thynapse.mesh.messages.lost", () => TransmitterCounters.Read(ref c.MeshGaps), "{message}", "Messages of peers' streams found missing");
        _meter.CreateObservableUpDownCounter("thynapse.mesh.cells.remote", () => TransmitterCounters.Read(ref c.MeshRemoteCells), "{cell}", "Cells of other transmitters held in the replicated directory");
        _meter.CreateObservableCounter("thynapse.mesh.cells.records", () => TransmitterCounters.Read(ref c.MeshCellRecords), "{record}", "Cell records applied to the replicated directory");
        _meter.CreateObservableCounter("thynapse.mesh.cells.stale", () => TransmitterCounters.Read(ref c.MeshCellRecordsStale), "{record}", "Cell records ignored as no newer than what was held");
        _meter.CreateObservableCounter("thynapse.mesh.snapshots", () => TransmitterCounters.Read(ref c.MeshSnapshots), "{snapshot}", "Snapshots asked for to repair a gap");
        _meter.CreateObservableCounter("thynapse.mesh.messages.malformed", () => TransmitterCounters.Read(ref c.MeshMalformed), "{message}", "Malformed mesh messages ignored");
        _meter.CreateObservableCounter("thynapse.mesh.auth.failures", () => TransmitterCounters.Read(ref c.MeshAuthFailures), "{message}", "Mesh requests refused and answers ignored for the cluster secret");
        _meter.CreateObservableCounter("thynapse.mesh.messages.sent", () => TransmitterCounters.Read(ref c.MeshSent), "{message}", "Mesh messages sent");
        _meter.CreateObservableCounter("thynapse.mesh.messages.received", () => TransmitterCounters.Read(ref c.MeshReceived), "{message}", "Mesh messages received");
        _meter.CreateObservableCounter("thynapse.completions", () => TransmitterCounters.Read(ref c.Completions), "{event}", "DONE notices sent to publishers");
    }

    public void Dispose() => _meter.Dispose();
}
