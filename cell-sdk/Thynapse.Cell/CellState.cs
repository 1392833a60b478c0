namespace Thynapse.Cell;

/// <summary>Where a cell stands with its transmitter.</summary>
public enum CellState
{
    /// <summary>Sending <c>HELO</c>, waiting for <c>WLCM</c>.</summary>
    Connecting,

    /// <summary>Welcomed: events flow.</summary>
    Connected,

    /// <summary>The session was lost (transmitter silent, restarted or shutting down); the cell is re-joining with its subscriptions.</summary>
    Reconnecting,

    /// <summary>Disposed.</summary>
    Closed,
}
