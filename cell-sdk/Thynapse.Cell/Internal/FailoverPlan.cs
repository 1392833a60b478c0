using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// Where the cell joins next (PROTOCOL.md §5.19): the transmitters the last welcome and every <c>TMTR</c> since listed
/// (unless <see cref="CellOptions.UseListedTransmitters"/> is off), and the endpoints of
/// <see cref="CellOptions.Transmitter"/> and <see cref="CellOptions.Transmitters"/>. A lost session starts a new round:
/// the target a shutting-down transmitter named first, then the other transmitters in random order (cells of one
/// transmitter spread over the rest), the one that was lost last; each failed attempt takes the next, and a round that
/// ran out starts again. Socket thread, except <see cref="Known"/>.
/// </summary>
internal sealed class FailoverPlan
{
    private readonly string[] _configured;
    private readonly bool _useListed;
    private readonly List<string> _round = [];
    private IReadOnlyList<TransmitterAddress> _known = [];
    private int _next;

    /// <param name="options">The cell's options: the first endpoint, and any more.</param>
    public FailoverPlan(CellOptions options)
    {
        _configured = [.. new[] { options.Transmitter }.Concat(options.Transmitters ?? []).Distinct(StringComparer.Ordinal)];
        _useListed = options.UseListedTransmitters;
        Current = options.Transmitter;
    }

    /// <summary>The endpoint of the current (or next) attempt.</summary>
    public string Current { get; private set; }

    /// <summary>True when there is somewhere else to try than <see cref="Current"/>.</summary>
    public bool HasAlternatives => _round.Count > 0 ? _round.Any(e => e != Current) : _configured.Length > 1;

    /// <summary>What the transmitters said last (any thread): the welcoming one first, then its mesh's live members.</summary>
    public IReadOnlyList<TransmitterAddress> Known => Volatile.Read(ref _known);

    /// <summary>The listed transmitters' endpoints the cell fails over to (none with <see cref="CellOptions.UseListedTransmitters"/> off).</summary>
    private IEnumerable<string> Listed => _useListed ? Known.Select(t => t.CommandEndpoint) : [];

    /// <summary>A welcome or a <c>TMTR</c> listed the transmitters (an empty list keeps the last one known).</summary>
    public void Learn(IReadOnlyList<TransmitterAddress> transmitters)
    {
        if (transmitters.Count > 0)
        {
            Volatile.Write(ref _known, transmitters);
        }
    }

    /// <summary>The session with <see cref="Current"/> was lost: a new round, <paramref name="target"/> (if any) first.</summary>
    public void SessionLost(string? target)
    {
        var lost = Current;
        if (!_useListed && target is not null && !_configured.Contains(target, StringComparer.Ordinal))
        {
            target = null; // a shutting-down transmitter names a member by its own address, which this cell does not use
        }

        var others = Listed.Concat(_configured)
            .Where(e => e != lost && e != target).Distinct(StringComparer.Ordinal).ToArray();
        Random.Shared.Shuffle(others);
        _round.Clear();
        if (target is not null)
        {
            _round.Add(target);
        }

        _round.AddRange(others);
        _round.Add(lost);
        _next = 0;
        Advance();
    }

    /// <summary>An attempt at <see cref="Current"/> failed: the next endpoint of the round (a round that ran out starts again).</summary>
    public void Advance()
    {
        if (_round.Count == 0)
        {
            // Never lost a session yet (the first connect): cycle through the configured endpoints.
            _round.AddRange(_configured);
            _next = _configured.Length > 1 ? 1 : 0;
        }

        if (_next >= _round.Count)
        {
            _next = 0;
        }

        Current = _round[_next++];
    }
}
