using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Where a routed event goes, by the kind of receiver: a local cell's output, or a cell of another transmitter over the
/// forward stream to that transmitter (PROTOCOL.md §12.11). Routing thread only.
/// </summary>
internal sealed class ReceiverSink(CellOutput output, TransmitterCounters counters)
{
    /// <summary>The mesh's forward streams (PROTOCOL.md §12.11); null without a mesh.</summary>
    public Mesh.EventForwarder? Forwarder { get; set; }

    /// <summary>
    /// Forwards an event to the transmitters of <paramref name="remote"/> (a plan's multicatch cells of other
    /// transmitters): once to each, whatever the number of its cells. Returns the number of live remote cells.
    /// </summary>
    public uint ForwardMulticatch(Receiver[] remote, in EventData e)
    {
        if (Forwarder is not { } forwarder)
        {
            return 0;
        }

        uint receivers = 0;
        forwarder.BeginEvent();
        foreach (var receiver in remote)
        {
            if (!receiver.Closed && receiver is Mesh.RemoteCell cell)
            {
                forwarder.Multicatch(cell.Transmitter, e);
                receivers++;
            }
        }

        return receivers;
    }

    /// <summary>
    /// Hands one event to one receiver (<paramref name="anycatch"/>: the subscription and tag, or none for multicatch): a
    /// local cell's output, or a cell of another transmitter through a kind-2 record on the forward stream to that
    /// transmitter, which delivers it to exactly that cell (PROTOCOL.md §12.11). <paramref name="tracked"/>: the tracker
    /// waits for the cell's answer, which the holder relays.
    /// </summary>
    public void Deliver(Receiver receiver, in EventData e, in AnycatchFields anycatch, bool tracked = false)
    {
        if (receiver is LocalCell cell)
        {
            output.Deliver(cell, e, anycatch);
            return;
        }

        // An anycatch delivery has an attempt; an untracked one travels with tag 0, which a Gone answer names (a loss).
        var remote = (Mesh.RemoteCell)receiver;
        var flags = (anycatch.Attempt == 0 ? Mesh.DeliverFlags.None : Mesh.DeliverFlags.Anycatch) | (tracked ? Mesh.DeliverFlags.Tracked : Mesh.DeliverFlags.None);
        var fields = tracked ? anycatch : anycatch with { Tag = 0 };
        if (Forwarder?.Deliver(remote.Transmitter, remote.Profile.IdBytes, flags, fields, e) != true && !tracked && anycatch.Attempt != 0)
        {
            // Its transmitter is no longer a serving member (its cells are about to leave the replica): nobody holds it.
            // A tracked delivery times out or is redelivered when the cell leaves; this one is lost, and counted.
            TransmitterCounters.Increment(ref counters.MeshAnycatchLost);
        }
    }
}
