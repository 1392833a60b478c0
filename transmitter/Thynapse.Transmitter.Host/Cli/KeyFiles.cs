using NetMQ;
using Thynapse.Core;

namespace Thynapse.Transmitter.Host.Cli;

/// <summary>
/// CURVE key files: <c>keygen</c> writes the secret key (Z85, mode 0600) and the public key (<c>.pub</c>) for cells;
/// <c>--curve-key-file</c> reads the secret key back.
/// </summary>
internal static class KeyFiles
{
    /// <summary>Writes a new key pair to <paramref name="path"/> and <c>path.pub</c>; 0, or 1 with a message.</summary>
    public static int Generate(string path, TextWriter output, TextWriter error)
    {
        var publicPath = path + ".pub";
        if (File.Exists(path) || File.Exists(publicPath))
        {
            error.WriteLine($"keygen: '{(File.Exists(path) ? path : publicPath)}' exists; remove it or pick another path (a key pair is never overwritten).");
            return 1;
        }

        var certificate = new NetMQCertificate();
        try
        {
            // Created with owner-only permissions from the start: the secret key is never readable by others, not even briefly.
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var secret = new StreamWriter(path, options))
            {
                secret.WriteLine(certificate.SecretKeyZ85);
            }

            File.WriteAllText(publicPath, certificate.PublicKeyZ85 + "\n");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"keygen: could not write '{path}': {ex.Message}");
            return 1;
        }

        output.WriteLine($"Wrote the secret key to {path} (mode 0600) and the public key to {publicPath}.");
        output.WriteLine($"Public key: {certificate.PublicKeyZ85}");
        output.WriteLine($"Start the transmitter with --curve-key-file {path}; give cells the public key (CellOptions.TransmitterPublicKey).");
        return 0;
    }

    /// <summary>The Z85 secret key in <paramref name="path"/>, or null with <paramref name="error"/> naming the flag.</summary>
    public static string? ReadSecretKey(string path, string flag, out string? error)
    {
        var key = SecretFiles.ReadSecret(path, flag, out error)?.Trim();
        if (key is null)
        {
            return null;
        }

        if (!CurveKeys.IsKey(key))
        {
            error = $"{flag}: '{path}' does not hold a Z85 CURVE secret key (40 characters); make one with 'thynapse-transmitter keygen {path}'.";
            return null;
        }

        return key;
    }

    /// <summary>
    /// The Z85 public keys in <paramref name="path"/>, one a line (blank lines and <c>#</c> comments ignored), or null with
    /// <paramref name="error"/> naming the flag and the line.
    /// </summary>
    public static IReadOnlyList<string>? ReadPublicKeys(string path, string flag, out string? error)
    {
        if (!SecretFiles.TryReadText(path, flag, out var text, out error))
        {
            return null;
        }

        var keys = new List<string>();
        foreach (var (number, line) in SecretFiles.EntriesOf(text))
        {
            if (!CurveKeys.IsKey(line))
            {
                error = $"{flag}: line {number} of '{path}' must be a cell's Z85 CURVE public key, 40 characters (CellOptions.CurvePublicKey).";
                return null;
            }

            keys.Add(line);
        }

        if (keys.Count == 0)
        {
            error = $"{flag}: '{path}' lists no key: with no key no cell could join; list the cells' public keys, one a line.";
            return null;
        }

        return keys;
    }
}
