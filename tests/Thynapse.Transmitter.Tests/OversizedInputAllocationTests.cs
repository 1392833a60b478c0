using Thynapse.Transmitter.Commands;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Wire;

namespace Thynapse.Transmitter.Tests;

/// <summary>
/// Issue 18, item 7, "never an allocation beyond the limits": frames over the frame limit and J headers over the header
/// limit are refused with their codes before anything reads them, so refusing one allocates a small answer, not
/// anything the size of the input (a reader that parsed or copied them would allocate megabytes here).
/// </summary>
[TestClass]
public sealed class OversizedInputAllocationTests : TestBase
{
    private const int MaxFrame = 64 * 1024;
    private const int MaxHeader = 4096;
    private const int Inputs = 600;

    /// <summary>What refusing one input may allocate: the ERRR and its text, three orders of magnitude below the inputs.</summary>
    private const long BytesPerRefusal = 4096;

    [TestMethod]
    public void OversizedFramesAndHeaders_AreRefusedWithoutAllocatingTheirSize()
    {
        var options = TransmitterOptions.Default with { MaxFrameBytes = MaxFrame, MaxHeaderBytes = MaxHeader };
        options.Validate();
        var sender = new CountingSender();
        var processor = new CommandProcessor(options, Thynapse.Core.Thid.NewRandom(), "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", sender, new TransmitterCounters());
        var random = new Random(20261203);
        var routingId = "fuzz"u8.ToArray();

        // Generated before measuring: frames over the frame limit (J and B, with and without a body frame) and J headers
        // over the header limit but under the frame limit, with bytes that would parse if anything read them.
        var inputs = Enumerable.Range(0, Inputs).Select(i =>
        {
            var headerOnly = i % 3 == 2; // J headers between the two limits; the rest over the frame limit, J or B
            var frame = new byte[headerOnly ? random.Next(MaxHeader + 1, MaxFrame) : random.Next(MaxFrame + 1, 4 * MaxFrame)];
            random.NextBytes(frame);
            (headerOnly || i % 2 == 0 ? "J EVNT {\"channel\":\"a.b\",\"x\":\""u8 : "B EVNT "u8).CopyTo(frame);
            return (Header: frame, Body: !headerOnly && i % 5 == 0 ? new byte[MaxFrame + 1] : []);
        }).ToList();

        void RefuseAll()
        {
            foreach (var (header, body) in inputs)
            {
                processor.Handle(routingId, header, body, body.Length > 0 ? 2 : 1, 0, options.TimeProvider.GetTimestamp());
            }

            processor.FlushDirty();
        }

        RefuseAll(); // warm-up: first calls allocate what is allocated once (JIT, caches, the warning limiter)
        var errorsBefore = sender.Errors;
        var before = GC.GetAllocatedBytesForCurrentThread();
        RefuseAll();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var inputBytes = inputs.Sum(x => (long)x.Header.Length + x.Body.Length);
        TestContext.WriteLine($"{Inputs} oversized inputs ({inputBytes / 1048576.0:0.0} MiB) refused with {allocated} bytes allocated ({allocated / Inputs} per input)");
        Assert.AreEqual(errorsBefore + Inputs, sender.Errors, "every input is answered with an ERRR");
        CollectionAssert.AreEquivalent(new[] { (int)Thynapse.Core.ThynapseErrorCode.FrameTooLarge, (int)Thynapse.Core.ThynapseErrorCode.HeaderTooLarge },
            sender.Codes.ToArray(), $"answered with the limits' codes (FRAME_TOO_LARGE, HEADER_TOO_LARGE) and no other: {string.Join(", ", sender.Codes)}");
        Assert.IsLessThan(Inputs * BytesPerRefusal, allocated, $"refusing {Inputs} oversized inputs allocates little: {allocated} bytes for {inputBytes} bytes of input");
    }

    /// <summary>Stands in for the ROUTER: takes every frame, counts the ERRRs and keeps their codes.</summary>
    private sealed class CountingSender : IFrameSender
    {
        public int Errors { get; private set; }

        public HashSet<int> Codes { get; } = [];

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> frame) => Send(routingId, frame, default);

        public SendOutcome Send(byte[] routingId, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
        {
            if (header.StartsWith("J ERRR "u8))
            {
                Errors++;
                var at = header.IndexOf("\"code\":"u8);
                Codes.Add(at >= 0 && System.Buffers.Text.Utf8Parser.TryParse(header[(at + 7)..], out int code, out _) ? code : -1); // no allocation: measured
            }

            return SendOutcome.Sent;
        }
    }
}
