namespace Thynapse.Transmitter.Sessions;

/// <summary>Why a session ended.</summary>
internal enum SessionEnd
{
    /// <summary>The cell said GBYE.</summary>
    Left,

    /// <summary>The cell was silent past the liveness timeout.</summary>
    Expired,

    /// <summary>The cell's connection closed (or its peer vanished under a send).</summary>
    Disconnected,

    /// <summary>The same cell came back on a new connection with its resume token.</summary>
    Resumed,

    /// <summary>The transmitter shut down.</summary>
    Shutdown,

    /// <summary>The cell's queue stayed full for the liveness timeout: it is not reading.</summary>
    CutOff,

    /// <summary>Another transmitter's newer claim on the cell won (PROTOCOL.md §12.8): the cell lives there now.</summary>
    Moved,
}
