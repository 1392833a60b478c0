namespace Thynapse.Transmitter.Mesh;

/// <summary>
/// Lifeguard's local health: a score from 0 (healthy) to <c>max − 1</c> that rises when this transmitter shows signs of
/// being the slow one — an indirect probe whose helpers did not even send their nack, a suspicion of itself it had to
/// refute, a stall of its own routing thread — and falls with every probe answered in time. Probe intervals, probe
/// timeouts and suspicions are stretched by <see cref="Factor"/> (score + 1), so that a starved transmitter slows its
/// verdicts instead of declaring healthy members dead (PROTOCOL.md §12.7).
/// </summary>
internal sealed class LocalHealth(int max)
{
    /// <summary>The current score, 0 when healthy.</summary>
    public int Score { get; private set; }

    /// <summary>What timeouts are multiplied by: score + 1.</summary>
    public int Factor => Score + 1;

    /// <summary>Moves the score by <paramref name="delta"/>, within 0 and max − 1.</summary>
    public void Apply(int delta) => Score = Math.Clamp(Score + delta, 0, Math.Max(0, max - 1));
}
