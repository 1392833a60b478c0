using System.Security.Cryptography;
using Thynapse.Core;

namespace Thynapse.Core.Tests;

[TestClass]
public sealed class ThidTests
{
    [TestMethod]
    public void Parse_RoundTripsThroughText()
    {
        var thid = Thid.NewRandom();
        var text = thid.ToString();

        Assert.AreEqual(40, text.Length);
        Assert.AreEqual(text.ToLowerInvariant(), text);
        Assert.AreEqual(thid, Thid.Parse(text));
        Assert.AreEqual(thid, Thid.Parse(text.ToUpperInvariant()));
    }

    [TestMethod]
    public void FromBytes_RoundTripsThroughBinary()
    {
        var thid = Thid.NewRandom();
        Assert.AreEqual(thid, Thid.FromBytes(thid.ToByteArray()));
    }

    [TestMethod]
    public void NewRandom_IsNotRepeated()
    {
        var seen = Enumerable.Range(0, 1000).Select(_ => Thid.NewRandom()).ToHashSet();
        Assert.HasCount(1000, seen);
    }

    [TestMethod]
    [DataRow("")]
    [DataRow("8843d7f92416211de9ebb963ff4ce28125932878aa")]
    [DataRow("8843d7f92416211de9ebb963ff4ce2812593287")]
    [DataRow("8843d7f92416211de9ebb963ff4ce2812593287g")]
    [DataRow("8843d7f9-416211de9ebb963ff4ce28125932878")]
    public void TryParse_RejectsNonThids(string text)
    {
        Assert.IsFalse(Thid.TryParse(text, out _));
        Assert.ThrowsExactly<FormatException>(() => Thid.Parse(text));
    }

    [TestMethod]
    public void Parse_KeepsTheOriginalProjectsSha1Vector()
    {
        // The original CoffeeScript prototype's test vector: sha1("foobar").
        Assert.AreEqual("8843d7f92416211de9ebb963ff4ce28125932878", Thid.Parse("8843D7F92416211DE9EBB963FF4CE28125932878").ToString());
    }

    [TestMethod]
    public void ForEvent_IsSha1OfTheCanonicalContents()
    {
        var origin = Thid.Parse("0e971517075766d59313108d4922947dce30b2a7");
        var channel = "orders.created"u8.ToArray();
        var body = "hello"u8.ToArray();

        var expected = SHA1.HashData([
            .. origin.ToByteArray(),
            0, 0, 0, 0, 0, 0, 0, 7, // seq 7, big-endian
            (byte)channel.Length,
            .. channel,
            .. body,
        ]);

        Assert.AreEqual(Thid.FromBytes(expected), Thid.ForEvent(origin, 7, channel, body));
    }

    [TestMethod]
    public void ForEvent_DiffersWhenAnyPartDiffers()
    {
        var origin = Thid.NewRandom();
        var baseline = Thid.ForEvent(origin, 1, "a.b"u8, "x"u8);

        Assert.AreEqual(baseline, Thid.ForEvent(origin, 1, "a.b"u8, "x"u8));
        Assert.AreNotEqual(baseline, Thid.ForEvent(Thid.NewRandom(), 1, "a.b"u8, "x"u8));
        Assert.AreNotEqual(baseline, Thid.ForEvent(origin, 2, "a.b"u8, "x"u8));
        Assert.AreNotEqual(baseline, Thid.ForEvent(origin, 1, "a.c"u8, "x"u8));
        Assert.AreNotEqual(baseline, Thid.ForEvent(origin, 1, "a.b"u8, "y"u8));
        // The channel's length prefix keeps the channel/body boundary unambiguous.
        Assert.AreNotEqual(Thid.ForEvent(origin, 1, "a.bx"u8, ""u8), Thid.ForEvent(origin, 1, "a.b"u8, "x"u8));
    }
}
