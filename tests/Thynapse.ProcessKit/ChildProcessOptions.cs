namespace Thynapse.ProcessKit;

/// <summary>How to start a <see cref="ChildProcess"/>. Its standard input, output and error are always redirected.</summary>
public sealed record ChildProcessOptions
{
    /// <summary>The executable.</summary>
    public required string FileName { get; init; }

    /// <summary>Its arguments, each passed as it is (no shell quoting).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Environment variables set for the child.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }

    /// <summary>Environment variables set for the child unless this process has them already (then it inherits ours).</summary>
    public IReadOnlyDictionary<string, string>? EnvironmentDefaults { get; init; }

    /// <summary>How many of the latest lines <see cref="ChildProcess.Lines"/> keeps; null keeps them all.</summary>
    public int? KeptLines { get; init; }

    /// <summary>
    /// Called on the reading task with each standard output line, in order, before it is kept: a line it returns true
    /// for is taken (handed over, and not kept in <see cref="ChildProcess.Lines"/>). Standard error lines are always kept.
    /// </summary>
    public Func<string, bool>? TakeOutputLine { get; init; }
}
