using System.Reactive.Linq;
using Newtonsoft.Json.Linq;
using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

// Metadata, discovery and membership watches (PROTOCOL.md §5.15–5.17).
public sealed partial class Cell
{
    private readonly Dictionary<uint, WatchState> _watches = [];
    private readonly Lock _metadataGate = new();
    private JObject _metadata = [];
    private string[] _tags = [];
    private int _nextWatchId;

    /// <summary>A copy of this cell's metadata, as the transmitter routes by it.</summary>
    public JObject Metadata => (JObject)Volatile.Read(ref _metadata).DeepClone();

    /// <summary>This cell's tags.</summary>
    public IReadOnlyList<string> Tags => Volatile.Read(ref _tags);

    /// <summary>
    /// Changes this cell's metadata: merged into the current one (a null value removes its key), or replacing it.
    /// Completes once the transmitter applied it — targeted events routed after that see the new metadata.
    /// </summary>
    /// <exception cref="ThynapseRejectedException">Refused, for example <c>METADATA_TOO_LARGE</c>.</exception>
    public Task UpdateMetadataAsync(JObject metadata, bool replace = false, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(metadata);
        return ChangeMetadataAsync(new JObject { ["metadata"] = metadata.DeepClone(), ["mode"] = replace ? "replace" : "merge" }, cancellationToken);
    }

    /// <summary>Sets one metadata key (null removes it); see <see cref="UpdateMetadataAsync"/>.</summary>
    public Task SetMetadataAsync(string key, JToken? value, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentException.ThrowIfNullOrEmpty(key);
        return UpdateMetadataAsync(new JObject { [key] = value ?? JValue.CreateNull() }, replace: false, cancellationToken);
    }

    /// <summary>Replaces this cell's tags (for discovery).</summary>
    public Task SetTagsAsync(IEnumerable<string> tags, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(tags);
        return ChangeMetadataAsync(new JObject { ["tags"] = new JArray(tags.Distinct().ToArray()) }, cancellationToken);
    }

    /// <summary>The cells matching <paramref name="filter"/>, as the transmitter knows them now.</summary>
    public async Task<IReadOnlyList<CellInfo>> FindCellsAsync(CellFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(Command.List, (filter ?? CellFilter.All).ToWire(), cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. (reply["cells"] as JArray ?? []).OfType<JObject>().Select(CellInfo.From)];
    }

    /// <summary>
    /// The cells matching <paramref name="filter"/> as they come and go: every current match as
    /// <see cref="MembershipChangeKind.Joined"/> first, then each join, update and leave. Lazy: subscribing starts
    /// the watch, disposing ends it.
    /// </summary>
    /// <remarks>Observers are called serially on the thread pool. After a reconnect the watch resumes, and what changed meanwhile is reported as changes.</remarks>
    public IObservable<MembershipChange> Watch(CellFilter? filter = null)
    {
        ThrowIfDisposed();
        filter ??= CellFilter.All;
        return Observable.Create<MembershipChange>(async (observer, cancellationToken) =>
        {
            var id = (uint)Interlocked.Increment(ref _nextWatchId);
            var state = new WatchState(id, filter, new DispatchQueue<MembershipChange>(4096, ex => _log.Error(ex, "A Watch observer threw")));
            using var observing = state.Queue.Subscribe(observer);
            try
            {
                // The snapshot is taken on the socket thread with the answer, before any CELL notice that follows it.
                await RequestAsync(Command.Wtch, StartWatch(state), () => _watches[id] = state, reply => Snapshot(state, reply), cancellationToken).ConfigureAwait(false);
                await state.Queue.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Disposed by the observer.
            }
            finally
            {
                Work(() => _watches.Remove(id));
                state.Queue.Complete();
                if (CurrentState == CellState.Connected && Volatile.Read(ref _disposed) == 0)
                {
                    try
                    {
                        await RequestAsync(Command.Unwt, new JObject { ["watch"] = id }, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (ThynapseException)
                    {
                        // Gone already (or the transmitter with it): nothing left to end.
                    }
                }
            }
        });
    }

    private Task<JObject> ChangeMetadataAsync(JObject change, CancellationToken cancellationToken) =>
        RequestAsync(Command.Meta, change, answered: _ => ApplyLocally(change), cancellationToken: cancellationToken);

    /// <summary>
    /// Socket thread, with the <c>OKAY</c>: keeps the local copy in step (it is what a re-joining HELO carries), in the
    /// order the transmitter applied the changes.
    /// </summary>
    private void ApplyLocally(JObject change)
    {
        lock (_metadataGate)
        {
            if (change["metadata"] is JObject metadata)
            {
                var updated = change.Value<string>("mode") == "replace" ? (JObject)metadata.DeepClone() : (JObject)_metadata.DeepClone();
                if (change.Value<string>("mode") != "replace")
                {
                    foreach (var (key, value) in metadata)
                    {
                        if (value is null || value.Type == JTokenType.Null)
                        {
                            updated.Remove(key);
                        }
                        else
                        {
                            updated[key] = value.DeepClone();
                        }
                    }
                }

                Volatile.Write(ref _metadata, updated);
            }

            if (change["tags"] is JArray tags)
            {
                Volatile.Write(ref _tags, [.. tags.Values<string>().OfType<string>()]);
            }
        }
    }

    private static JObject StartWatch(WatchState state)
    {
        var wire = state.Filter.ToWire();
        wire["watch"] = state.Id;
        return wire;
    }

    /// <summary>Socket thread: the cells matching a watch when it (re)started; differences from what we knew are changes.</summary>
    private static void Snapshot(WatchState state, JObject reply)
    {
        state.Started = true;
        var now = (reply["cells"] as JArray ?? []).OfType<JObject>().Select(CellInfo.From).ToDictionary(c => c.Id);
        foreach (var (id, cell) in now)
        {
            if (!state.Known.TryGetValue(id, out var before))
            {
                state.Queue.TryWrite(new MembershipChange(MembershipChangeKind.Joined, cell));
            }
            else if (!JToken.DeepEquals(before.Metadata, cell.Metadata) || !before.Tags.SequenceEqual(cell.Tags))
            {
                state.Queue.TryWrite(new MembershipChange(MembershipChangeKind.Updated, cell));
            }
        }

        foreach (var (id, cell) in state.Known)
        {
            if (!now.ContainsKey(id))
            {
                state.Queue.TryWrite(new MembershipChange(MembershipChangeKind.Left, cell));
            }
        }

        state.Known.Clear();
        foreach (var (id, cell) in now)
        {
            state.Known[id] = cell;
        }
    }

    /// <summary>Socket thread: one <c>CELL</c> notice for a watch.</summary>
    private void HandleCellNotice(JObject notice)
    {
        if (!_watches.TryGetValue(notice.Value<uint>("watch"), out var state) || notice["cell"] is not JObject wire)
        {
            return;
        }

        var cell = CellInfo.From(wire);
        var kind = notice.Value<string>("change") switch
        {
            "joined" => MembershipChangeKind.Joined,
            "left" => MembershipChangeKind.Left,
            _ => MembershipChangeKind.Updated,
        };
        if (kind == MembershipChangeKind.Left)
        {
            state.Known.Remove(cell.Id);
        }
        else
        {
            state.Known[cell.Id] = cell;
        }

        state.Queue.TryWrite(new MembershipChange(kind, cell));
    }

    /// <summary>Socket thread, after a re-join: the transmitter forgot our watches; start them again and report the difference.</summary>
    private void ResumeWatches()
    {
        // Only watches that had started: one still waiting for its first answer is asked again as a parked request.
        foreach (var state in _watches.Values.Where(w => w.Started))
        {
            _requests.Send(new Request(Command.Wtch, StartWatch(state))
            {
                Answered = reply => Snapshot(state, reply),
            });
        }
    }

    private sealed record WatchState(uint Id, CellFilter Filter, DispatchQueue<MembershipChange> Queue)
    {
        public Dictionary<Thid, CellInfo> Known { get; } = [];

        /// <summary>Socket thread: set once the transmitter answered the watch's first WTCH.</summary>
        public bool Started { get; set; }
    }
}
