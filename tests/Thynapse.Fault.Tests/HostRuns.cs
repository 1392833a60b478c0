namespace Thynapse.Fault.Tests;

/// <summary>The transmitter executable as a newcomer meets it: run to its exit, what it said, the files it is given.</summary>
internal static class HostRuns
{
    /// <summary>Runs <c>thynapse-transmitter</c> with <paramref name="args"/> until it exits with <paramref name="exitCode"/>; its lines.</summary>
    public static async Task<IReadOnlyList<string>> RunToExitAsync(
        int exitCode,
        IReadOnlyDictionary<string, string>? environment,
        CancellationToken cancellationToken,
        params string[] args)
    {
        using var process = ChildProcess.StartDotnet("thynapse-transmitter.dll", environment, args);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(20), cancellationToken);
        var lines = process.Lines;
        Assert.AreEqual(exitCode, code, string.Join('\n', lines));
        return lines;
    }

    /// <summary>One line says exactly <paramref name="expected"/> (after the log's time and level), and it is the only fatal one.</summary>
    public static void AssertSaysOnce(string expected, IReadOnlyList<string> lines)
    {
        var output = string.Join('\n', lines);
        Assert.AreEqual(1, lines.Count(l => l.Contains(" FTL ", StringComparison.Ordinal)), output);
        Assert.IsTrue(lines.Any(l => l.EndsWith($" FTL {expected}", StringComparison.Ordinal)), $"expected a line ending with:\n{expected}\ngot:\n{output}");
    }

    /// <summary>
    /// A new temporary file holding <paramref name="secret"/> and a newline, readable by its owner only (as a secret
    /// file must be); the caller deletes it.
    /// </summary>
    public static async Task<string> WriteSecretFileAsync(string secret, CancellationToken cancellationToken)
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(path, secret + "\n", cancellationToken);
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            return path;
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }
}
