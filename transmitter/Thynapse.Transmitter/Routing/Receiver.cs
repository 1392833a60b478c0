using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Routing;

/// <summary>
/// Whatever an event can be routed to: a cell with its profile. Route plans and the anycatch tracker hold receivers;
/// today every receiver is a <see cref="LocalCell"/>, the mesh adds cells of other transmitters behind the same seam.
/// </summary>
/// <remarks>
/// A base class with plain properties, not an interface: the routing path reads these fields for every event, and
/// delivering tests the concrete type once (<c>receiver is LocalCell</c>) instead of a virtual call per event.
/// </remarks>
internal abstract class Receiver(CellProfile profile)
{
    /// <summary>The cell as the mesh knows it.</summary>
    public CellProfile Profile { get; } = profile;

    public Thid Id => Profile.Id;

    public string Service => Profile.Service;

    public JObject Metadata => Profile.Metadata;

    /// <summary>64 bits of the THID, for rendezvous hashing of keys.</summary>
    public ulong IdHash { get; } = profile.IdHash;

    /// <summary>When this cell was last chosen for an anycatch delivery (a counter, not a time): ties go to the oldest.</summary>
    public long LastChosen { get; set; }

    /// <summary>Set when the cell is gone; plans still holding it skip it.</summary>
    public bool Closed { get; set; }

    public override string ToString() => $"{Service}/{Id}";
}
