namespace Thynapse.Core.Tests;

[TestClass]
public sealed class ChannelTests
{
    [TestMethod]
    [DataRow("a")]
    [DataRow("orders.created")]
    [DataRow("orders.eu-west-1.created_v2")]
    [DataRow("$DLQ.billing")]
    [DataRow("a.b.c.d.e.f.g.h")]
    [DataRow("!#%&'()+,-/:;<=?@[]^_`{|}~")]
    [DataRow("lang.c#.released")]
    [DataRow("issues.#42")]
    public void TryValidate_AcceptsChannels(string channel)
    {
        Assert.IsTrue(Channel.TryValidate(channel, out var error), error);
        Assert.IsTrue(Channel.TryValidate(System.Text.Encoding.ASCII.GetBytes(channel), out error), error);
    }

    [TestMethod]
    [DataRow("", "empty")]
    [DataRow(".", "token 1")]
    [DataRow("a.", "token 2")]
    [DataRow(".a", "token 1")]
    [DataRow("a..b", "token 2")]
    [DataRow("a b", "outside printable ASCII")]
    [DataRow("a.*", "wildcard")]
    [DataRow("a.>", "wildcard")]
    [DataRow("a*", "wildcard")]
    [DataRow("caf\u00e9", "outside printable ASCII")]
    [DataRow("a\tb", "outside printable ASCII")]
    [DataRow("orders.#", "'#' cannot be a whole token of a channel (token 2): it is reserved, as the wildcard it looks like")]
    [DataRow("#.created", "(token 1)")]
    public void TryValidate_RejectsWithAReason(string channel, string reason)
    {
        Assert.IsFalse(Channel.TryValidate(channel, out var error));
        Assert.Contains(reason, error);
        if (channel.All(char.IsAscii))
        {
            Assert.IsFalse(Channel.TryValidate(System.Text.Encoding.ASCII.GetBytes(channel), out var wireError), "as it travels on the wire");
            Assert.AreEqual(error, wireError);
        }
    }

    [TestMethod]
    public void TryValidate_RejectsMoreThan255Characters()
    {
        Assert.IsTrue(Channel.TryValidate(new string('a', 255), out _));
        Assert.IsFalse(Channel.TryValidate(new string('a', 256), out var error));
        Assert.Contains("longer than 255", error);
        Assert.IsFalse(Channel.TryValidate(new byte[256], out _));
    }

    [TestMethod]
    public void IsReserved_IsTrueForDollarChannels()
    {
        Assert.IsTrue(Channel.IsReserved("$DLQ.x"));
        Assert.IsTrue(Channel.IsReserved("$DLQ.x"u8));
        Assert.IsFalse(Channel.IsReserved("a.$x"));
    }

    [TestMethod]
    [DataRow("billing")]
    [DataRow("Billing-EU_2.v1")]
    public void ServiceName_AcceptsNames(string name) => Assert.IsTrue(ServiceName.TryValidate(name, out _));

    [TestMethod]
    [DataRow("")]
    [DataRow("has space")]
    [DataRow("star*")]
    [DataRow("this-name-is-far-too-long-for-a-service-name-because-it-goes-on-and-on")]
    public void ServiceName_RejectsBadNames(string name) => Assert.IsFalse(ServiceName.TryValidate(name, out _));
}
