using System.Reactive.Linq;
using Newtonsoft.Json.Linq;
using NetMQ;
using Serilog;
using Thynapse.Cell.Internal;
using Thynapse.Core;

namespace Thynapse.Cell;

/// <summary>
/// A cell: one worker's connection to a transmitter. Publish events, catch them as observables.
/// </summary>
/// <remarks>
/// One thread per cell owns its socket (a <see cref="NetMQPoller"/>); every public member is thread-safe and
/// hands work to that thread. User code never runs on it: observers are called from each subscription's own
/// loop on the thread pool. If the transmitter goes silent, restarts or shuts down, the cell re-joins on its own
/// with the same THID and subscriptions, and says so on <see cref="Notices"/> and <see cref="State"/>.
/// </remarks>
public sealed partial class Cell : IAsyncDisposable
{
    // The public verbs live in the partials; the work is done by engines in Internal/, each owning its state, on the
    // thread its type documents:
    //   socket thread: SessionEngine (Link, JoinAttempts), InboundDispatch (Deliveries, PublishReplies), Outbox,
    //                  RequestTable, Subscriptions, Watches — all run by SocketThread, so none of them locks;
    //   any thread:    CellSignals, PublishBuffer, PublishChecks, Profile, Acknowledgements (AckBuffer);
    //   handler and timer threads: HandlerRuntime.
    private readonly CellOptions _options;
    private readonly ILogger _log;
    private readonly SocketThread _thread;
    private readonly CellSignals _signals;
    private readonly PublishBuffer _publishes;
    private readonly RequestTable _requests;
    private readonly Watches _watches;
    private readonly Profile _profile;
    private readonly Acknowledgements _acknowledgements;
    private readonly HandlerRuntime _handlers;
    private readonly Subscriptions _subscriptions;
    private readonly Outbox _outbox;
    private readonly SessionEngine _session;
    private readonly InboundDispatch _inbound;
    private int _disposed;

    private Cell(CellOptions options)
    {
        if (options.PooledBuffers)
        {
            PooledBufferPool.Install();
        }

        _options = options;
        Id = options.Id ?? Thid.NewRandom();
        _log = options.Logger.ForContext<Cell>().ForContext("CellId", Id).ForContext(nameof(Service), options.Service);
        _profile = new Profile(options.Metadata, options.Tags);
        _signals = new CellSignals(_log);
        _thread = new SocketThread(_log, OnTimer);
        _publishes = new PublishBuffer(options.BatchBytes, options.MaxPendingPublishBytes, () => _outbox!.Wake());
        var acks = new AckBuffer(() => _outbox!.Wake());
        _outbox = new Outbox(_thread, _publishes, acks);
        _requests = new RequestTable(_thread, _outbox, _signals, options);
        _watches = new Watches(_requests, _log);
        _acknowledgements = new Acknowledgements(_thread, _outbox, acks, options.DeduplicationWindow);
        _subscriptions = new Subscriptions(_requests, _outbox, _signals);
        _handlers = new HandlerRuntime(_acknowledgements, _signals,
            new RateLimitedLog(_log, TimeProvider.System, "token-callback", perWindow: 5),
            _log, options.HandlerStopTimeout);
        _session = new SessionEngine(new SessionParts(_thread, _signals, _outbox, _requests, _subscriptions, _watches, _acknowledgements, _publishes, _profile),
            Id, options, _log, (sender, e) => _inbound!.OnReceiveReady(sender, e));
        var deliveries = new Deliveries(_subscriptions, _acknowledgements, _log);
        _inbound = new InboundDispatch(new InboundParts(_session, _signals, _outbox, _requests, deliveries, _watches, _publishes), _log);
    }

    /// <summary>This cell's THID.</summary>
    public Thid Id { get; }

    /// <summary>This cell's service.</summary>
    public string Service => _options.Service;

    /// <summary>The THID of the transmitter that welcomed this cell last.</summary>
    public Thid TransmitterId => _session.Terms.Id;

    /// <summary>The transmitter's event (PUB) endpoint, as given in <c>WLCM</c>.</summary>
    public string? TransmitterEvents => _session.Terms.Events;

    /// <summary>
    /// The transmitters this cell may fail over to, as the last <c>WLCM</c> and every <c>TMTR</c> since listed them: the
    /// one that welcomed it first, then the live members of its mesh (empty before the first welcome; PROTOCOL.md §5.19).
    /// </summary>
    public IReadOnlyList<TransmitterAddress> Transmitters => _session.Plan.Known;

    /// <summary>Where the cell stands now.</summary>
    public CellState CurrentState => _signals.State;

    /// <summary>
    /// Drops, rejections, reconnects and observer failures, as they happen (never null; observers are called on the
    /// thread pool, and notices that nobody observes are not kept).
    /// </summary>
    public IObservable<CellNotice> Notices => Observable.Create<CellNotice>(_signals.SubscribeNotices);

    /// <summary>The cell's state: the current one at once, then every change.</summary>
    public IObservable<CellState> State => Observable.Create<CellState>(_signals.SubscribeState).DistinctUntilChanged();

    /// <summary>
    /// Connects to the transmitter in <see cref="CellOptions.Transmitter"/> and completes once it has welcomed this
    /// cell (<c>HELO</c> → <c>WLCM</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="ThynapseRejectedException">The transmitter refused the cell.</exception>
    /// <exception cref="ThynapseTimeoutException">No welcome within <see cref="CellOptions.ConnectTimeout"/>.</exception>
    public static Task<Cell> ConnectAsync(CellOptions options, CancellationToken cancellationToken = default) =>
        ConnectCoreAsync(options, created: null, cancellationToken);

    /// <summary><paramref name="created"/>: given the cell before it connects (tests look at a cell whose connecting failed).</summary>
    internal static async Task<Cell> ConnectCoreAsync(CellOptions options, Action<Cell>? created, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var cell = new Cell(options);
        created?.Invoke(cell);
        try
        {
            cell._thread.Start();
            await cell._session.StartAsync().WaitAsync(options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
            return cell;
        }
        catch (TimeoutException)
        {
            var diagnosis = cell._session.Attempts.Diagnose(options.ConnectTimeout);
            await cell.DisposeAsync().ConfigureAwait(false);
            throw new ThynapseTimeoutException(diagnosis);
        }
        catch
        {
            await cell.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Leaves: sends what is buffered (credit or not), says <c>GBYE</c> (waiting briefly for the answer), closes the
    /// socket, completes every subscription's observers, and waits for running handlers up to
    /// <see cref="CellOptions.HandlerStopTimeout"/>. Events that could not be sent are counted in
    /// <see cref="PublishesUnsentAtDisposal"/>; buffered events no handler took, in <see cref="EventsLeftUnhandled"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _handlers.Stop(); // handlers take no more buffered events (review finding 11)
        _acknowledgements.Stop();
        _session.Stop();

        try
        {
            if (CurrentState == CellState.Connected)
            {
                await _session.LeaveAsync().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or ThynapseException or OperationCanceledException)
        {
            _log.Debug("No GBYE answer before closing: {Reason}", ex.Message);
        }

        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Work(() =>
            {
                _session.CloseLink(TimeSpan.FromSeconds(1));
                closed.TrySetResult();
            }))
        {
            closed.TrySetResult();
        }

        try
        {
            await closed.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Warning("The socket thread did not close the link within 5 s; stopping it anyway");
        }

        await _thread.StopAsync().ConfigureAwait(false); // from here on, work for the socket thread is dropped, never queued
        if (_publishes.Close() is > 0 and var unsent)
        {
            _log.Warning("{Count} published events were still buffered when the cell closed and were not sent (state {State})", unsent, CurrentState);
        }

        _publishes.SessionLost(new ThynapseConnectionException("The cell was disposed before the transmitter confirmed the event."), all: true);
        _requests.FailAll(new ObjectDisposedException(nameof(Cell), "The cell was disposed."));
        _session.FailFirstWelcome(new ObjectDisposedException(nameof(Cell), "The cell was disposed."));
        _thread.Dispose();
        _inbound.Release();
        var subscriptions = _subscriptions.Routes.All.ToList();
        foreach (var subscription in subscriptions)
        {
            subscription.Queue.Complete();
        }

        await _handlers.StopAsync(subscriptions).ConfigureAwait(false);
        _signals.SetState(CellState.Closed);
        _signals.Complete();
    }

    /// <summary>Runs <paramref name="action"/> on the socket thread (tests use it to stall that thread on purpose).</summary>
    internal void RunOnSocketThread(Action action) => Work(action);

    /// <summary>Loses the session on the socket thread, as if the transmitter had gone (tests order it against other work there).</summary>
    internal void LoseSession(string reason) => Work(() => _session.Lost(reason));

    /// <summary>Links (one per attempt at a session) opened so far.</summary>
    internal int LinksOpened => _session.LinksOpened;

    /// <summary>DEALER sockets and monitors this cell opened and has not disposed yet (tests check that none leak).</summary>
    internal int SocketsOpen => _session.SocketsOpen;

    /// <summary>Socket thread: requests sent and waiting for their answer (tests check that none is forgotten there).</summary>
    internal int RequestsWaiting => _requests.Waiting;

    /// <summary>True once disposal has begun: how the other parts of <see cref="Cell"/> read <c>_disposed</c>, which only this part writes.</summary>
    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>
    /// Throws <see cref="ObjectDisposedException"/> once the cell is disposed: every public method starts with it (an async
    /// one fails its task at once); properties still read.
    /// </summary>
    private void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            ThynapseException.ThrowClosed();
        }
    }

    /// <summary>
    /// Any thread: asks the transmitter <paramref name="message"/>, its <c>ref</c> added (see <see cref="RequestTable.AskAsync"/>).
    /// </summary>
    /// <param name="message">The request.</param>
    /// <param name="beforeSending">Run on the socket thread before the request is first submitted.</param>
    /// <param name="answered">
    /// Run on the socket thread with the <c>OKAY</c>, before the task completes: answers are applied in the order they
    /// came, not in the order their continuations happen to run.
    /// </param>
    /// <param name="cancellationToken">Stops waiting (the answer, if it comes, is ignored).</param>
    private Task<OkayMessage> RequestAsync<T>(T message, Action? beforeSending = null, Action<OkayMessage>? answered = null, CancellationToken cancellationToken = default)
        where T : IJsonMessage
    {
        ThrowIfDisposed();
        return _requests.AskAsync(Request.Of(message, answered), beforeSending, cancellationToken);
    }

    private void Notify(CellNotice notice) => _signals.Notify(notice);

    /// <summary>Any thread: hands <paramref name="action"/> to the socket thread; false once it has stopped.</summary>
    private bool Work(Action action) => _thread.Post(action);

    /// <summary>Socket thread, each tick: reads what already arrived (an answer waiting in the socket means the transmitter is not silent), then judges the session.</summary>
    private void OnTimer()
    {
        _inbound.ReadWaiting();
        _session.Tick();
        _subscriptions.ReportDrops();
    }
}
