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

    public TransmitterMetrics(TransmitterCounters c, string transmitterId)
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
    }

    public void Dispose() => _meter.Dispose();
}
