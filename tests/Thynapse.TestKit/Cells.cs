using Thynapse.Cell;

namespace Thynapse.TestKit;

/// <summary>Cells connected to a test transmitter.</summary>
public static class Cells
{
    /// <summary>Connects a cell of <paramref name="service"/> to <paramref name="transmitter"/>.</summary>
    public static Task<Cell.Cell> ConnectAsync(Thynapse.Transmitter.Transmitter transmitter, string service, CancellationToken cancellationToken = default) =>
        ConnectAsync(transmitter.CommandEndpoint, service, o => o, cancellationToken);

    /// <summary>Connects a cell of <paramref name="service"/> to <paramref name="transmitter"/>, with tuned options.</summary>
    public static Task<Cell.Cell> ConnectAsync(Thynapse.Transmitter.Transmitter transmitter, string service, Func<CellOptions, CellOptions> tune, CancellationToken cancellationToken = default) =>
        ConnectAsync(transmitter.CommandEndpoint, service, tune, cancellationToken);

    /// <summary>Connects a cell of <paramref name="service"/> to the transmitter at <paramref name="endpoint"/>.</summary>
    public static Task<Cell.Cell> ConnectAsync(string endpoint, string service, Func<CellOptions, CellOptions> tune, CancellationToken cancellationToken = default) =>
        Cell.Cell.ConnectAsync(tune(CellOptions.Default with { Transmitter = endpoint, Service = service }), cancellationToken);
}
