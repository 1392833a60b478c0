namespace Thynapse.Bench;

/// <summary>
/// What every publisher role reads from its arguments: <c>--conns</c> connections (default 1) publishing <c>--count</c>
/// messages in all, a random body of <c>--size</c> bytes (at least 8, default 100), <c>--stamp 1</c> to write each
/// message's number from <c>--first</c> into the body's first 8 bytes, and round-robin <c>--chunk</c>s (default
/// 100, or all when there is one connection).
/// </summary>
internal sealed record PublishPlan(int Conns, long Count, byte[] Body, bool Stamp, long First, int Chunk)
{
    public static PublishPlan From(RoleArgs args)
    {
        var conns = args.Int("conns", 1);
        var body = new byte[Math.Max(8, args.Int("size", 100))];
        Random.Shared.NextBytes(body);
        return new PublishPlan(conns, args.Long("count"), body, args.Get("stamp", "0") == "1", args.Long("first", 0), args.Int("chunk", conns == 1 ? int.MaxValue : 100));
    }
}
