using System.Reactive.Linq;
using Newtonsoft.Json.Linq;
using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

// Metadata, discovery and membership watches (PROTOCOL.md §5.15–5.17).
public sealed partial class Cell
{
    /// <summary>A copy of this cell's metadata, as the transmitter routes by it.</summary>
    public JObject Metadata => (JObject)_profile.Metadata.DeepClone();

    /// <summary>This cell's tags.</summary>
    public IReadOnlyList<string> Tags => _profile.Tags;

    /// <summary>
    /// Changes this cell's metadata: merged into the current one (a null value removes its key), or replacing it.
    /// Completes once the transmitter applied it — targeted events routed after that see the new metadata.
    /// </summary>
    /// <exception cref="ThynapseRejectedException">Refused, for example <c>METADATA_TOO_LARGE</c>.</exception>
    public Task UpdateMetadataAsync(JObject metadata, bool replace = false, CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(metadata);
        return ChangeMetadataAsync(new MetadataMessage { Metadata = (JObject)metadata.DeepClone(), Mode = replace ? MetadataMode.Replace : MetadataMode.Merge }, cancellationToken);
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
        return ChangeMetadataAsync(new MetadataMessage { Tags = tags.Distinct().ToArray() }, cancellationToken);
    }

    /// <summary>The cells matching <paramref name="filter"/>, as the transmitter knows them now.</summary>
    public async Task<IReadOnlyList<CellInfo>> FindCellsAsync(CellFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(new ListMessage((filter ?? CellFilter.All).ToDiscoveryFilter()), cancellationToken: cancellationToken).ConfigureAwait(false);
        return [.. (reply.Cells ?? []).Select(CellInfo.From)];
    }

    /// <summary>
    /// <c>CELL</c> notices of a change this version does not know (a later protocol version's kind): ignored, as
    /// PROTOCOL.md §5.17 asks, and counted here.
    /// </summary>
    public long UnknownCellChanges => _watches.UnknownChanges;

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
            var watch = _watches.Create(filter);
            var id = watch.Id;
            using var observing = watch.Queue.Subscribe(observer);
            try
            {
                // The snapshot is taken on the socket thread with the answer, before any CELL notice that follows it.
                await RequestAsync(watch.ToMessage(), () => _watches.Add(watch), reply => Watches.Snapshot(watch, reply), cancellationToken).ConfigureAwait(false);
                await watch.Queue.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Disposed by the observer.
            }
            finally
            {
                Work(() => _watches.Remove(id));
                watch.Queue.Complete();
                if (CurrentState == CellState.Connected && !IsDisposed)
                {
                    try
                    {
                        await RequestAsync(new UnwatchMessage(id), cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (ThynapseException)
                    {
                        // Gone already (or the transmitter with it): nothing left to end.
                    }
                }
            }
        });
    }

    /// <summary>The local copy follows on the socket thread with the answer, in the order the transmitter applied the changes.</summary>
    private Task<OkayMessage> ChangeMetadataAsync(MetadataMessage change, CancellationToken cancellationToken) =>
        RequestAsync(change, answered: _ => _profile.Apply(change), cancellationToken: cancellationToken);
}
