using Thynapse.Core;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Where a routed event goes, by the kind of receiver: a local cell's output today; a cell of another transmitter, over
/// the link to that transmitter, once the mesh routes to them (the seam it plugs into). Routing thread only.
/// </summary>
internal sealed class ReceiverSink(CellOutput output)
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

    /// <summary>Hands one event to one receiver (<paramref name="anycatch"/>: the subscription and tag, or none for multicatch).</summary>
    public void Deliver(Receiver receiver, in EventData e, in AnycatchFields anycatch)
    {
        if (receiver is LocalCell cell)
        {
            output.Deliver(cell, e, anycatch);
            return;
        }

        throw new NotSupportedException($"{receiver} is not a cell of this transmitter; routing to other transmitters' cells comes with the mesh");
    }
}
