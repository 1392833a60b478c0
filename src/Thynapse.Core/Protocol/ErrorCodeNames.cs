namespace Thynapse.Core;

/// <summary>The wire names of <see cref="ThynapseErrorCode"/> values (<c>FRAME_TOO_LARGE</c>, …).</summary>
public static class ErrorCodeNames
{
    private static readonly Dictionary<ThynapseErrorCode, string> Names = Enum.GetValues<ThynapseErrorCode>()
        .ToDictionary(code => code, ToWireName);

    /// <summary>The upper-snake-case name of <paramref name="code"/>, as sent in <c>ERRR</c>.</summary>
    public static string Of(ThynapseErrorCode code) => Names.TryGetValue(code, out var name) ? name : ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string ToWireName(ThynapseErrorCode code)
    {
        var pascal = code.ToString();
        var builder = new System.Text.StringBuilder(pascal.Length + 8);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                builder.Append('_');
            }

            builder.Append(char.ToUpperInvariant(pascal[i]));
        }

        return builder.ToString();
    }
}
