using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Thynapse.Transmitter.Host.Cli;

/// <summary>
/// The executable's flags: each with the environment variable that also sets it and the <see cref="TransmitterOptions"/>
/// property it feeds, so that every message about a setting names the flag the user typed (<see cref="Names"/>), and a
/// command line that cannot be parsed gets two lines instead of the whole help (<see cref="DescribeErrors"/>).
/// </summary>
internal sealed class FlagSet
{
    private const string Program = "thynapse-transmitter";

    private readonly List<Option> _options = [];
    private readonly Dictionary<string, (string Flag, string Variable)> _byProperty = [];

    public FlagSet() => Names = new SettingNames(
        property => _byProperty.TryGetValue(property, out var flag) ? flag.Flag : property,
        property => _byProperty.TryGetValue(property, out var flag) ? $"{flag.Flag} [env: {flag.Variable}]" : property);

    /// <summary>Settings named by their flags: <c>--liveness-ms [env: THYNAPSE_LIVENESS_MS]</c>, <c>--heartbeat-ms</c>.</summary>
    public SettingNames Names { get; }

    /// <summary>The flags, for the root command.</summary>
    public IReadOnlyList<Option> Options => _options;

    /// <summary>
    /// A flag whose value comes from the command line, else from <paramref name="variable"/>, else
    /// <paramref name="defaultValue"/>; a value of the wrong type is refused naming where it came from.
    /// </summary>
    /// <param name="name">The flag: <c>--liveness-ms</c>.</param>
    /// <param name="variable">The environment variable that sets it when the flag is absent.</param>
    /// <param name="property">The <see cref="TransmitterOptions"/> property it sets, if any (for <see cref="Names"/>).</param>
    /// <param name="defaultValue">The value when neither sets it.</param>
    /// <param name="description">For <c>--help</c>.</param>
    /// <param name="allowed">For text flags, the only values accepted.</param>
    public Option<T> Add<T>(string name, string variable, string? property, T defaultValue, string description, params string[] allowed)
    {
        var option = new Option<T>(name)
        {
            Description = $"{description} [env: {variable}]",
            DefaultValueFactory = result =>
            {
                var text = Environment.GetEnvironmentVariable(variable);
                return string.IsNullOrEmpty(text) ? defaultValue : Convert(text, $"{variable} (for {name})", defaultValue, allowed, result);
            },
            CustomParser = result => Convert(result.Tokens.Count == 0 ? "" : result.Tokens[^1].Value, name, defaultValue, allowed, result),
        };
        if (allowed.Length > 0)
        {
            option.HelpName = string.Join('|', allowed);
        }

        _options.Add(option);
        if (property is not null)
        {
            _byProperty[property] = (name, variable);
        }

        return option;
    }

    /// <summary>
    /// A repeatable text flag (<c>--peer a --peer b</c>) whose values come from the command line, else from
    /// <paramref name="variable"/> as a comma-separated list (<c>THYNAPSE_PEERS=a,b</c>), else none. Empty entries of the
    /// variable are skipped; the values themselves are checked where they are used (they name the flag).
    /// </summary>
    public Option<string[]> AddList(string name, string variable, string? property, string description)
    {
        var option = new Option<string[]>(name)
        {
            Description = $"{description} [env: {variable}, comma-separated]",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => (Environment.GetEnvironmentVariable(variable) ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
        _options.Add(option);
        if (property is not null)
        {
            _byProperty[property] = (name, variable);
        }

        return option;
    }

    /// <summary>
    /// What is wrong with a command line that could not be parsed, in a line or two: the unknown or bad token, the flag
    /// probably meant, and where to find the rest (<c>--help</c>).
    /// </summary>
    public string DescribeErrors(ParseResult result)
    {
        var lines = new List<string>();
        var unmatched = result.UnmatchedTokens;
        for (var i = 0; i < unmatched.Count; i++)
        {
            var token = unmatched[i];
            if (token.StartsWith('-'))
            {
                var flag = token.Split('=', ':')[0];
                lines.Add(Closest(flag) is { } meant ? $"unknown flag '{flag}'. Did you mean {meant}?" : $"unknown flag '{flag}'.");
                if (i + 1 < unmatched.Count && !unmatched[i + 1].StartsWith('-'))
                {
                    i++; // the unknown flag's value
                }
            }
            else
            {
                lines.Add(token.Contains("://", StringComparison.Ordinal)
                    ? $"unexpected argument '{token}': every setting is a flag. Did you mean --command {token}?"
                    : $"unexpected argument '{token}': every setting is a flag (--name value).");
            }
        }

        // Errors of the flags' own values (ours from Convert, System.CommandLine's for a missing value); those of
        // unmatched tokens belong to the root command and were described above.
        foreach (var error in result.Errors)
        {
            if (error.SymbolResult is OptionResult { Tokens.Count: 0, IdentifierToken: { } flag })
            {
                lines.Add($"{flag.Value} needs a value.");
            }
            else if (error.SymbolResult is not CommandResult)
            {
                lines.Add(string.Join(' ', error.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            }
        }

        if (lines.Count == 0)
        {
            lines.AddRange(result.Errors.Select(e => e.Message));
        }

        return string.Join('\n', lines.Distinct().Select(l => $"{Program}: {l}")) + $"\nSee '{Program} --help' for every flag and its environment variable.";
    }

    /// <summary>The one flag within a small edit distance of <paramref name="typed"/>, if exactly one is closest.</summary>
    private string? Closest(string typed)
    {
        var bare = typed.TrimStart('-');
        var scored = _options
            .Select(o => (Flag: o.Name, Distance: EditDistance(bare, o.Name.TrimStart('-'))))
            .Where(s => s.Distance <= Math.Max(2, bare.Length / 4))
            .OrderBy(s => s.Distance)
            .ToList();
        return scored.Count > 0 && (scored.Count == 1 || scored[1].Distance > scored[0].Distance) ? scored[0].Flag : null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static T Convert<T>(string text, string source, T fallback, string[] allowed, SymbolResult result)
    {
        if (allowed.Length > 0 && !allowed.Contains(text, StringComparer.Ordinal))
        {
            result.AddError($"{source} must be {string.Join(" or ", allowed)}; got '{text}'.");
            return fallback;
        }

        var type = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        try
        {
            return type == typeof(string) ? (T)(object)text
                : type.IsEnum ? (T)Enum.Parse(type, text, ignoreCase: true)
                : (T)System.Convert.ChangeType(text, type, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is FormatException or InvalidCastException or ArgumentException or OverflowException)
        {
            var expected = type.IsEnum ? $"one of {string.Join(", ", Enum.GetNames(type))}"
                : type == typeof(int) ? "a whole number"
                : $"a {type.Name}";
            result.AddError($"{source} must be {expected}; got '{text}'.");
            return fallback;
        }
    }
}
