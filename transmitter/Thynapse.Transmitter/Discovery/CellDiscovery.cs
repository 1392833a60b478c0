using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Mesh;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Routing;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Discovery;

/// <summary>
/// Metadata changes, discovery and membership watches (PROTOCOL.md §5.15–5.17): <c>META</c>, <c>LIST</c>, <c>WTCH</c>,
/// <c>UNWT</c>, and the <c>CELL</c> notices that follow the <see cref="CellDirectory"/>'s feed. Routing thread only.
/// </summary>
internal sealed class CellDiscovery
{
    private readonly List<Watch> _watches = [];
    private readonly TransmitterOptions _options;
    private readonly MessageLimits _limits;
    private readonly Thid _transmitter;
    private readonly CellDirectory _directory;
    private readonly CellOutput _output;
    private readonly Responder _responder;
    private CellReplica? _replica;

    public CellDiscovery(TransmitterOptions options, Thid transmitter, CellDirectory directory, CellOutput output, Responder responder)
    {
        _options = options;
        _limits = options.MessageLimits;
        _transmitter = transmitter;
        _directory = directory;
        _output = output;
        _responder = responder;
        directory.Joined += cell => Announce(cell, joined: true);
        directory.Updated += cell => Announce(cell, joined: false);
        directory.Left += Forget;
    }

    /// <summary>
    /// Lists and watches the cells of other transmitters too, from the mesh's replica (PROTOCOL.md §12.8): each is
    /// described with the transmitter that serves it. A cell held both here and in the replica (it moved, and the old
    /// owner's record is not gone yet) is described once, as local.
    /// </summary>
    public void Include(CellReplica replica)
    {
        _replica = replica;
        replica.Joined += cell => Announce(cell, joined: true);
        replica.Updated += cell => Announce(cell, joined: false);
        replica.Left += cell => Announce(cell, joined: false);
    }

    /// <summary><c>META</c>: merges or replaces the cell's metadata, replaces its tags; in force before the answer (§4.6).</summary>
    public void HandleMeta(LocalCell cell, JObject request)
    {
        var profile = cell.Profile;
        if (!MetadataMessage.TryRead(request, _limits, out var meta, out var code, out var error)
            || !meta.TryApply(profile.Metadata, _limits, out var updated, out code, out error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Meta, code, error, request);
            return;
        }

        // Applied before the answer: any event routed after the OKAY sees the new metadata (narrowed plans are
        // recomputed at the directory's new epoch).
        profile.Metadata = updated;
        profile.Tags = meta.Tags is { } tags ? [.. tags] : profile.Tags;
        _responder.Reply(cell, new OkayMessage(Command.Meta), request);
        _directory.Update(cell);
    }

    /// <summary><c>LIST</c>: the cells matching a filter, now.</summary>
    public void HandleList(LocalCell cell, JObject request)
    {
        if (!ListMessage.TryRead(request, _limits, out var list, out var code, out var error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.List, code, error, request);
            return;
        }

        var cells = new List<CellDescription>();
        foreach (var known in Known())
        {
            if (CellFilter.Matches(list.Filter, known))
            {
                cells.Add(Describe(known));
            }
        }

        _responder.Reply(cell, new OkayMessage(Command.List) { Cells = cells }, request);
    }

    /// <summary><c>WTCH</c>: the cells matching a filter now, and a <c>CELL</c> notice for each change from then on.</summary>
    public void HandleWatch(LocalCell cell, JObject request)
    {
        if (!WatchMessage.TryRead(request, _limits, out var wanted, out var code, out var error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Wtch, code, error, request);
            return;
        }

        var id = wanted.Watch;
        if (_watches.Exists(w => ReferenceEquals(w.Watcher, cell) && w.Id == id))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Wtch, ThynapseErrorCode.DuplicateWatch, $"watch {id} exists", request);
            return;
        }

        if (_watches.Count(w => ReferenceEquals(w.Watcher, cell)) >= _options.MaxWatchesPerCell)
        {
            _responder.Reject(cell.RoutingId, cell, Command.Wtch, ThynapseErrorCode.TooManySubscriptions, $"a cell may hold {_options.MaxWatchesPerCell} watches", request);
            return;
        }

        var watch = new Watch(cell, id, wanted.Filter);
        var cells = new List<CellDescription>();
        foreach (var known in Known())
        {
            if (CellFilter.Matches(watch.Filter, known))
            {
                watch.Matching.Add(known);
                cells.Add(Describe(known));
            }
        }

        _watches.Add(watch);
        _responder.Reply(cell, new OkayMessage(Command.Wtch) { Watch = id, Cells = cells }, request);
    }

    /// <summary><c>UNWT</c>: ends a watch.</summary>
    public void HandleUnwatch(LocalCell cell, JObject request)
    {
        if (!UnwatchMessage.TryRead(request, _limits, out var unwatch, out var code, out var error))
        {
            _responder.Reject(cell.RoutingId, cell, Command.Unwt, code, error, request);
            return;
        }

        var id = unwatch.Watch;
        if (_watches.RemoveAll(w => ReferenceEquals(w.Watcher, cell) && w.Id == id) == 0)
        {
            _responder.Reject(cell.RoutingId, cell, Command.Unwt, ThynapseErrorCode.UnknownWatch, $"this cell has no watch {id}", request);
            return;
        }

        _responder.Reply(cell, new OkayMessage(Command.Unwt) { Watch = id }, request);
    }

    /// <summary>Every cell discovery sees: the local ones, then the replica's (those not local too).</summary>
    private IEnumerable<Receiver> Known()
    {
        foreach (var local in _directory.All)
        {
            yield return local;
        }

        if (_replica is null)
        {
            yield break;
        }

        foreach (var remote in _replica.Cells)
        {
            if (!_directory.TryGetById(remote.Id, out _))
            {
                yield return remote;
            }
        }
    }

    /// <summary>A cell as discovery describes it, with the transmitter that serves it (PROTOCOL.md §5.16).</summary>
    private CellDescription Describe(Receiver cell) =>
        new(cell.Id, cell.Service, cell.Profile.Tags, cell.Metadata, cell is RemoteCell remote ? remote.Transmitter : _transmitter);

    /// <summary>Tells every watch whose filter this cell matches (or matched) that it joined, changed or left.</summary>
    private void Announce(Receiver cell, bool joined)
    {
        if (_watches.Count == 0)
        {
            return;
        }

        CellDescription? description = null;
        foreach (var watch in _watches.ToArray()) // a send can end a session, which edits the list
        {
            if (watch.Watcher.Closed)
            {
                continue;
            }

            var was = watch.Matching.Contains(cell);
            var now = !cell.Closed && CellFilter.Matches(watch.Filter, cell);
            CellChange? change = (was, now) switch
            {
                (false, true) => CellChange.Joined,
                (true, true) => joined ? CellChange.Joined : CellChange.Updated,
                (true, false) => CellChange.Left,
                _ => null,
            };
            if (change is null)
            {
                continue;
            }

            if (now)
            {
                watch.Matching.Add(cell);
            }
            else
            {
                watch.Matching.Remove(cell);
            }

            description ??= Describe(cell);
            _output.Send(watch.Watcher, new CellChangeMessage(watch.Id, change.Value, description).ToFrame());
        }
    }

    /// <summary>A cell left: its own watches end, and the others are told.</summary>
    private void Forget(LocalCell cell)
    {
        _watches.RemoveAll(w => ReferenceEquals(w.Watcher, cell));
        Announce(cell, joined: false);
    }
}
