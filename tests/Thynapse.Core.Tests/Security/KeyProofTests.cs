using NetMQ;
using Thynapse.Core;

namespace Thynapse.Core.Tests.Security;

/// <summary><c>HELO.key</c> (PROTOCOL.md §5.1): a proof opens only with the transmitter's key, for its own THID, untouched.</summary>
[TestClass]
public sealed class KeyProofTests
{
    private static readonly NetMQCertificate Server = new();
    private static readonly NetMQCertificate Cell = new();
    private static readonly Thid Id = Thid.NewRandom();

    [TestMethod]
    public void AProof_Verifies_AndNamesTheCellsKey()
    {
        var proof = KeyProof.Create(Cell.SecretKeyZ85!, Cell.PublicKeyZ85, Server.PublicKeyZ85, Id);

        Assert.IsTrue(proof.Verify(Server.SecretKeyZ85!, Id, out var publicKey));
        CollectionAssert.AreEqual(Cell.PublicKey, publicKey);
        Assert.AreEqual(Cell.PublicKeyZ85, proof.Public);
        Assert.HasCount(KeyProof.BoxLength, proof.Box);
    }

    [TestMethod]
    public void AProof_ForAnotherThid_OrAnotherTransmitter_DoesNotVerify()
    {
        var proof = KeyProof.Create(Cell.SecretKeyZ85!, Cell.PublicKeyZ85, Server.PublicKeyZ85, Id);

        Assert.IsFalse(proof.Verify(Server.SecretKeyZ85!, Thid.NewRandom(), out _));
        Assert.IsFalse(proof.Verify(new NetMQCertificate().SecretKeyZ85!, Id, out _));
    }

    [TestMethod]
    public void ATamperedProof_DoesNotVerify()
    {
        var proof = KeyProof.Create(Cell.SecretKeyZ85!, Cell.PublicKeyZ85, Server.PublicKeyZ85, Id);
        var box = (byte[])proof.Box.Clone();
        box[3] ^= 1;
        var nonce = (byte[])proof.Nonce.Clone();
        nonce[0] ^= 1;

        Assert.IsFalse((proof with { Box = box }).Verify(Server.SecretKeyZ85!, Id, out _));
        Assert.IsFalse((proof with { Nonce = nonce }).Verify(Server.SecretKeyZ85!, Id, out _));
        Assert.IsFalse((proof with { Public = new NetMQCertificate().PublicKeyZ85 }).Verify(Server.SecretKeyZ85!, Id, out _));
        Assert.IsFalse((proof with { Box = box[..10] }).Verify(Server.SecretKeyZ85!, Id, out _));
    }

    [TestMethod]
    public void HelloKey_RoundTrips_AndAMalformedOneIsAnInvalidField()
    {
        var proof = KeyProof.Create(Cell.SecretKeyZ85!, Cell.PublicKeyZ85, Server.PublicKeyZ85, Id);
        var json = Messages.Wire.Payload(new HelloMessage(Id, "billing") { Key = proof });

        Assert.IsTrue(HelloMessage.TryRead(json, MessageLimits.Default, out var read, out _, out var error), error);
        Assert.AreEqual(proof.Public, read.Key!.Public);
        CollectionAssert.AreEqual(proof.Box, read.Key.Box);
        Assert.IsTrue(read.Key.Verify(Server.SecretKeyZ85!, Id, out _));

        foreach (var (field, value) in new (string, JToken)[] { ("public", "short"), ("nonce", "zz"), ("box", 42) })
        {
            var bad = (JObject)json.DeepClone();
            bad["key"]![field] = value;
            Assert.IsFalse(HelloMessage.TryRead(bad, MessageLimits.Default, out _, out var code, out error));
            Assert.AreEqual(ThynapseErrorCode.InvalidField, code, field);
            StringAssert.Contains(error, "field 'key'");
        }
    }
}
