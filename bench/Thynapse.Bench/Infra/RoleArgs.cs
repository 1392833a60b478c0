using System.Globalization;

namespace Thynapse.Bench;

/// <summary>A role's arguments: <c>--key value</c> pairs.</summary>
internal sealed class RoleArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static RoleArgs Parse(ReadOnlySpan<string> args)
    {
        var parsed = new RoleArgs();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"expected --key value pairs, got '{args[i]}'");
            }

            parsed._values[args[i][2..]] = args[i + 1];
        }

        return parsed;
    }

    public string this[string key] => _values.TryGetValue(key, out var value) ? value : throw new ArgumentException($"missing --{key}");

    public string Get(string key, string fallback) => _values.TryGetValue(key, out var value) ? value : fallback;

    public long Long(string key) => long.Parse(this[key], CultureInfo.InvariantCulture);

    public long Long(string key, long fallback) => _values.TryGetValue(key, out var value) ? long.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public double Double(string key, double fallback) => _values.TryGetValue(key, out var value) ? double.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public int Int(string key, int fallback) => (int)Long(key, fallback);

    public bool Has(string key) => _values.ContainsKey(key);
}

/// <summary>Builds a role's argument list.</summary>
internal sealed class ArgList
{
    private readonly List<string> _args = [];

    public ArgList Add(string key, object value)
    {
        _args.Add("--" + key);
        _args.Add(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
        return this;
    }

    public ArgList AddIf(bool condition, string key, object value) => condition ? Add(key, value) : this;

    public IReadOnlyList<string> ToList() => _args;
}
