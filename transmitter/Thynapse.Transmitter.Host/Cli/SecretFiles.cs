namespace Thynapse.Transmitter.Host.Cli;

/// <summary>
/// Reads the secrets the executable takes from files (<c>--secret-file</c>, <c>--credentials-file</c>), so that they
/// stay out of the process list and the shell history. Every problem is a message naming the flag and the fix.
/// </summary>
internal static class SecretFiles
{
    /// <summary>
    /// The secret in <paramref name="path"/>: the file's text without its trailing line break. Null, with
    /// <paramref name="error"/>, when it cannot be read or is empty.
    /// </summary>
    public static string? ReadSecret(string path, string flag, out string? error)
    {
        if (!TryReadText(path, flag, out var text, out error))
        {
            return null;
        }

        var secret = text.TrimEnd('\r', '\n');
        if (secret.Length == 0)
        {
            error = $"{flag}: '{path}' is empty; write the secret in it (for example: openssl rand -hex 32 > {path}; chmod 600 {path}).";
            return null;
        }

        return secret;
    }

    /// <summary>
    /// The credentials in <paramref name="path"/>: one per line, <c>service[,service…] secret</c>; blank lines and lines
    /// starting with <c>#</c> are skipped. Null, with <paramref name="error"/> naming the line, when one is not of that form.
    /// </summary>
    public static IReadOnlyList<CellCredential>? ReadCredentials(string path, string flag, out string? error)
    {
        if (!TryReadText(path, flag, out var text, out error))
        {
            return null;
        }

        var credentials = new List<CellCredential>();
        foreach (var (number, line) in EntriesOf(text))
        {
            var space = line.IndexOfAny([' ', '\t']);
            if (space < 0)
            {
                error = $"{flag}: line {number} of '{path}' must be 'service[,service...] secret', a list of services, a space and the secret.";
                return null;
            }

            var services = line[..space].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            credentials.Add(new CellCredential(line[(space + 1)..].Trim(), services));
        }

        return credentials;
    }

    /// <summary>The lines of a list file, trimmed, with their numbers (from 1); blank lines and <c>#</c> comments skipped.</summary>
    public static IEnumerable<(int Number, string Line)> EntriesOf(string text)
    {
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length > 0 && !line.StartsWith('#'))
            {
                yield return (i + 1, line);
            }
        }
    }

    /// <summary>The text of <paramref name="path"/>, or false with <paramref name="error"/> naming the flag.</summary>
    public static bool TryReadText(string path, string flag, out string text, out string? error)
    {
        text = "";
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            error = ex is FileNotFoundException or DirectoryNotFoundException
                ? $"{flag}: '{path}' does not exist; give the path of a file that holds the secret (chmod 600)."
                : $"{flag}: '{path}' could not be read ({ex.Message}).";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>True when others than the owner may read <paramref name="path"/> (never on Windows).</summary>
    public static bool ReadableByOthers(string path) =>
        !OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & (UnixFileMode.GroupRead | UnixFileMode.OtherRead)) != 0;
}
