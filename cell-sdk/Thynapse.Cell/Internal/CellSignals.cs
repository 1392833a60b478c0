using Serilog;

namespace Thynapse.Cell.Internal;

/// <summary>
/// What a cell tells the application about itself: its <see cref="CellState"/> (the current one, then each change)
/// and its <see cref="CellNotice"/>s, each through a bounded queue of its own, so that a slow observer never holds up
/// the thread that raised them. Any thread.
/// </summary>
internal sealed class CellSignals
{
    private readonly ILogger _log;
    private readonly Lock _gate = new();
    private readonly DispatchQueue<CellNotice> _notices;
    private readonly DispatchQueue<CellState> _states;
    private CellState _state = CellState.Connecting;

    public CellSignals(ILogger log)
    {
        _log = log;
        _notices = new DispatchQueue<CellNotice>(4096, ex => _log.Error(ex, "A Notices observer threw"), waitForFirstObserver: false);
        _states = new DispatchQueue<CellState>(256, ex => _log.Error(ex, "A State observer threw"), waitForFirstObserver: false);
    }

    /// <summary>Where the cell stands now.</summary>
    public CellState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>Moves to <paramref name="state"/> and tells the observers; nothing moves a closed cell.</summary>
    public void SetState(CellState state)
    {
        lock (_gate)
        {
            if (_state == state || _state == CellState.Closed)
            {
                return;
            }

            _state = state;
            _states.TryWrite(state);
        }
    }

    /// <summary>Logs a notice (drops, refusals and losses as warnings) and hands it to the observers.</summary>
    public void Notify(CellNotice notice)
    {
        if (notice.Kind is CellNoticeKind.SlowConsumer or CellNoticeKind.MissedEvents or CellNoticeKind.PublishRejected or CellNoticeKind.ConnectionLost)
        {
            _log.Warning("{Notice}", notice.Message);
        }
        else
        {
            _log.Information("{Notice}", notice.Message);
        }

        _notices.TryWrite(notice);
    }

    /// <summary>Observes the notices from now on.</summary>
    public IDisposable SubscribeNotices(IObserver<CellNotice> observer) => _notices.Subscribe(observer);

    /// <summary>Observes the state: the current one at once, then every change.</summary>
    public IDisposable SubscribeState(IObserver<CellState> observer)
    {
        lock (_gate)
        {
            observer.OnNext(_state);
            return _states.Subscribe(observer);
        }
    }

    /// <summary>The cell is closed: both sequences complete.</summary>
    public void Complete()
    {
        _states.Complete();
        _notices.Complete();
    }
}
