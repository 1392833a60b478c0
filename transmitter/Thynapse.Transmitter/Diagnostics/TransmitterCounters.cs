namespace Thynapse.Transmitter.Diagnostics;

/// <summary>
/// Plain counters written by the routing thread only and read from anywhere: the hot path pays one increment,
/// and <see cref="TransmitterMetrics"/> publishes them as observable instruments.
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
    public long MissedWhileAway;
    public long Extensions;
    public long RoutingStalledTicks;
    public long ConnectionsAccepted;
    public long ConnectionsRefused;
    public long ConnectionsClosed;
    public long HandshakeTimeouts;

    public static long Read(ref long counter) => Volatile.Read(ref counter);

    public static void Add(ref long counter, long value) => Volatile.Write(ref counter, counter + value);

    public static void Increment(ref long counter) => Volatile.Write(ref counter, counter + 1);
}
