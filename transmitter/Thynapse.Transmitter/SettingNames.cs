namespace Thynapse.Transmitter;

/// <summary>
/// How messages about settings name them: by their <see cref="TransmitterOptions"/> property (the in-process API), or
/// by the flag and environment variable that set them (the executable, <c>Program.cs</c>). One rule, one message, two
/// vocabularies.
/// </summary>
/// <param name="Reference">The short name of a setting mentioned in passing: <c>--heartbeat-ms</c>.</param>
/// <param name="Subject">The full name of the setting a message is about: <c>--liveness-ms [env: THYNAPSE_LIVENESS_MS]</c>.</param>
internal sealed record SettingNames(Func<string, string> Reference, Func<string, string> Subject)
{
    /// <summary>The property names.</summary>
    public static SettingNames Properties { get; } = new(static property => property, static property => property);
}
