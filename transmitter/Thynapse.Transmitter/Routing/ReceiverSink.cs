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
