using System.Buffers;
using System.Diagnostics;
using System.Text;
using Newtonsoft.Json.Linq;
using Thynapse.Core;
using Thynapse.TestKit;

namespace Thynapse.Core.Tests;

/// <summary>
/// Bounded fuzzing of everything that reads bytes from the wire (issue 18, item 7): the frame header, the J payload
/// reader and the typed HELO reader, the binary event and delivery records, channels and patterns, and the query
/// compiler. Each target gets <see cref="InputsPerTarget"/> inputs, valid seeds mutated (bit flips, inserted, deleted and
/// repeated bytes, truncations, splices) and generated (random bytes, random JSON trees); every reader must answer
/// with its error, never throw. The seed is printed, so a failure can be replayed with <c>THYNAPSE_FUZZ_SEED</c>.
/// </summary>
[TestClass]
public sealed class ParserFuzzTests : TestBase
{
    private const int InputsPerTarget = 60_000;

    private static readonly int Seed = int.TryParse(Environment.GetEnvironmentVariable("THYNAPSE_FUZZ_SEED"), out var seed) ? seed : Environment.TickCount;

    [TestMethod]
    [Timeout(60_000)]
    public void FrameHeader_NeverThrows() => Run("frame header", HeaderSeeds(), input =>
    {
        FrameHeader.TryParse(input, out _, out _, out var payload, out _);
        Assert.IsLessThanOrEqualTo(input.Length, payload.Length);
    });

    [TestMethod]
    [Timeout(60_000)]
    public void JsonPayloadAndHello_NeverThrow() => Run("J payload and HELO", JsonSeeds(), input =>
    {
        if (JsonPayload.TryParse(input, out var json, out _))
        {
            HelloMessage.TryRead(json, MessageLimits.Default, out _, out _, out _);
            MetadataQuery.TryParse(json, QueryLimits.Default, out _, out _);
        }
    });

    [TestMethod]
    [Timeout(60_000)]
    public void BinaryRecords_NeverThrow() => Run("binary records", RecordSeeds(), input =>
    {
        var events = new EventRecordReader(input);
        for (var i = 0; i <= input.Length && events.TryRead(out _, out _); i++)
        {
        }

        var deliveries = new DeliveryRecordReader(input);
        for (var i = 0; i <= input.Length && deliveries.TryRead(out _, out _); i++)
        {
        }
    });

    [TestMethod]
    [Timeout(60_000)]
    public void ChannelsAndPatterns_NeverThrow() => Run("channels and patterns", NameSeeds(), input =>
    {
        Channel.TryValidate(input, out _);
        var text = Encoding.UTF8.GetString(input);
        Channel.TryValidate(text, out _);
        if (ChannelPattern.TryParse(text, out var pattern, out _))
        {
            Assert.IsTrue(ChannelPattern.TryParse(pattern.ToString(), out _, out _), $"a parsed pattern reads back: {text}");
        }
    });

    [TestMethod]
    [Timeout(60_000)]
    public void QueryCompiler_NeverThrows_OnGeneratedTrees()
    {
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < InputsPerTarget; i++)
        {
            var tree = RandomToken(random, depth: random.Next(1, 24));
            try
            {
                MetadataQuery.TryParse(tree, QueryLimits.Default, out _, out _);
            }
            catch (Exception ex)
            {
                Assert.Fail($"seed {Seed}, query {tree.ToString(Newtonsoft.Json.Formatting.None)}: {ex}");
            }
        }

        TestContext.WriteLine($"query compiler: {InputsPerTarget} generated trees in {clock.ElapsedMilliseconds} ms (seed {Seed})");
    }

    private void Run(string target, byte[][] seeds, Action<byte[]> read)
    {
        var random = new Random(Seed);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < InputsPerTarget; i++)
        {
            var input = i % 10 == 9 ? RandomBytes(random) : Mutate(random, seeds[random.Next(seeds.Length)], seeds);
            try
            {
                read(input);
            }
            catch (Exception ex) when (ex is not AssertFailedException)
            {
                Assert.Fail($"{target}, seed {Seed}, input {i}: {Convert.ToHexString(input)}: {ex}");
            }
        }

        TestContext.WriteLine($"{target}: {InputsPerTarget} inputs in {clock.ElapsedMilliseconds} ms (seed {Seed})");
    }

    private static byte[] Mutate(Random random, byte[] seed, byte[][] seeds)
    {
        var bytes = new List<byte>(seed);
        for (var n = random.Next(1, 5); n > 0; n--)
        {
            var at = bytes.Count == 0 ? 0 : random.Next(bytes.Count);
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                case 2 when bytes.Count > 0:
                    bytes.RemoveAt(at);
                    break;
                case 3:
                    bytes.RemoveRange(at, bytes.Count - at); // truncation
                    break;
                case 4 when bytes.Count > 0:
                    bytes.InsertRange(at, Enumerable.Repeat(bytes[at], random.Next(1, 64)));
                    break;
                case 5:
                    var other = seeds[random.Next(seeds.Length)];
                    bytes.InsertRange(at, other.Skip(random.Next(other.Length + 1)));
                    break;
                default:
                    bytes.Insert(at, "{}[]\":,.*>\\ \u0000\u00ff"u8[random.Next(14)]);
                    break;
            }
        }

        return [.. bytes];
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 300)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static JToken RandomToken(Random random, int depth)
    {
        string[] keys = ["$and", "$or", "$not", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$prefix", "$version", "$any", "$first", "$sort", "region", "load", "a.b", "", "$"];
        return (depth <= 0 ? random.Next(5) : random.Next(8)) switch
        {
            0 => new JValue(random.Next(-5, 5)),
            1 => new JValue(random.NextDouble() * 1e6),
            2 => new JValue(keys[random.Next(keys.Length)]),
            3 => new JValue(random.Next(2) == 0),
            4 => JValue.CreateNull(),
            5 or 6 => new JObject(Enumerable.Range(0, random.Next(0, 4))
                .Select(_ => keys[random.Next(keys.Length)]).Distinct()
                .Select(k => new JProperty(k, RandomToken(random, depth - 1)))),
            _ => new JArray(Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomToken(random, depth - 1))),
        };
    }

    private static byte[][] HeaderSeeds() =>
    [
        .. new[] { "J HELO {}", "J BEAT", "J BEAT ", "B EVNT \u0001\u0002", "J SUBS {\"sub\":1,\"pattern\":\"a.*\"}", "X HELO", "J helo {}" }
            .Select(Encoding.UTF8.GetBytes),
    ];

    private static byte[][] JsonSeeds() =>
    [
        .. new[]
        {
            $"{{\"id\":\"{new string('a', 40)}\",\"service\":\"billing\",\"protocol\":1,\"encodings\":[\"B\",\"J\"],\"metadata\":{{\"region\":\"eu\",\"load\":3}},\"tags\":[\"x\"],\"subs\":[{{\"sub\":1,\"pattern\":\"orders.>\",\"mode\":\"any\",\"ack\":true}}],\"resume\":\"ab\",\"secret\":\"s\",\"ref\":7}}",
            "{\"$and\":[{\"region\":{\"$in\":[\"eu\",\"us\"]}},{\"load\":{\"$lt\":5}},{\"$not\":{\"v\":{\"$version\":\">=1.2.0\"}}}]}",
            "{\"a\":{\"b\":{\"c\":{\"d\":[1,2,{\"e\":null}]}}}}",
            "[1,2,3]",
            "{\"x\":\"\\u00e9\\ud83d\\ude00\"}",
        }.Select(Encoding.UTF8.GetBytes),
    ];

    private static byte[][] RecordSeeds()
    {
        var writer = new ArrayBufferWriter<byte>();
        EventRecordWriter.Write(writer, confirm: false, 1, "a.b", default, default, "one"u8);
        EventRecordWriter.Write(writer, confirm: true, 2, "orders.created", "key"u8, "{\"x\":1}"u8, new byte[100]);
        EventRecordWriter.Write(writer, confirm: false, 3, "z", default, default, default);
        var single = new ArrayBufferWriter<byte>();
        EventRecordWriter.Write(single, confirm: true, 9, "a.b.c", "k"u8, "{}"u8, new byte[7]);
        return [writer.WrittenSpan.ToArray(), single.WrittenSpan.ToArray(), []];
    }

    private static byte[][] NameSeeds() =>
    [
        .. new[] { "orders.created", "orders.*", "orders.>", "a.*.c.>", "$sys.x", "a..b", "ü.ß", new string('a', 255), "*", ">" }
            .Select(Encoding.UTF8.GetBytes),
    ];
}
