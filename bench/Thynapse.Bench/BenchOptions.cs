namespace Thynapse.Bench;

/// <summary>The orchestrator's command line.</summary>
internal sealed record BenchOptions
{
    public const string Usage =
        "usage: dotnet run -c Release --project bench/Thynapse.Bench -- [--quick] [--only a,b] [--rounds N] [--out file.json]\n"
        + "  --quick       smaller runs, 1 round (whole run <= 60 s)\n"
        + "  --only a,b    scenario numbers or ids (e.g. 1,rr-seq); --list shows them\n"
        + "  --rounds N    interleaved rounds (default 3; 1 with --quick)\n"
        + "  --out file    also write the results as JSON\n"
        + "  --curve       Thynapse with CURVE on both sockets (a fresh key pair; cells get the public key); NATS unchanged\n"
        + "  --list        list the scenarios and exit";

    public bool Quick { get; init; }

    public int Rounds { get; init; } = 3;

    public IReadOnlyList<string> Only { get; init; } = [];

    public string? Out { get; init; }

    public bool List { get; init; }

    /// <summary>Thynapse's transmitters require CURVE and its cells use it (issue 18: CURVE on against off, run by run).</summary>
    public bool Curve { get; init; }

    public static BenchOptions? Parse(string[] args, out string error)
    {
        var options = new BenchOptions();
        int? rounds = null;
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    options = options with { Quick = true };
                    break;
                case "--list":
                    options = options with { List = true };
                    break;
                case "--curve":
                    options = options with { Curve = true };
                    break;
                case "--only" when i + 1 < args.Length:
                    options = options with { Only = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
                    break;
                case "--rounds" when i + 1 < args.Length:
                    if (!int.TryParse(args[++i], System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
                    {
                        error = $"--rounds wants a positive integer, not '{args[i]}'";
                        return null;
                    }

                    rounds = n;
                    break;
                case "--out" when i + 1 < args.Length:
                    options = options with { Out = args[++i] };
                    break;
                case "-h" or "--help":
                    error = "";
                    return null;
                default:
                    error = $"unknown or incomplete option '{args[i]}'";
                    return null;
            }
        }

        return options with { Rounds = rounds ?? (options.Quick ? 1 : 3) };
    }
}
