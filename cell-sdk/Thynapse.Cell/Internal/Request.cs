using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>A request waiting for its answer, known by the <c>ref</c> it was sent with (see <see cref="RequestTable"/>).</summary>
/// <remarks>Made of a typed message only (<see cref="Of"/>); the table adds the <c>ref</c> to its payload each time it sends it.</remarks>
internal sealed class Request
{
    private Request(Command command, JObject payload)
    {
        Command = command;
        Payload = payload;
    }

    public Command Command { get; }

    /// <summary>A request of <paramref name="message"/>, which leaves its <c>ref</c> to the table (see <see cref="RequestTable.Send"/>).</summary>
    public static Request Of<T>(T message, Action<OkayMessage>? answered = null)
        where T : IJsonMessage => new(message.Command, JsonMessage.ToJson(message)) { Answered = answered };

    public JObject Payload { get; }

    /// <summary>
    /// Completes with the <c>OKAY</c>, or fails with the <c>ERRR</c>. A <c>HELO</c>'s is never completed: its answer is
    /// the welcome (<see cref="SessionEngine.StartAsync"/>).
    /// </summary>
    public TaskCompletionSource<OkayMessage> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The <c>ref</c> it was last sent with (0: never sent).</summary>
    public long Ref { get; set; }

    /// <summary>Socket thread: what the <c>OKAY</c> changes here, applied before <see cref="Reply"/> completes.</summary>
    public Action<OkayMessage>? Answered { get; init; }

    /// <summary>The subscription (<c>sub</c>) a <c>SUBS</c> or <c>UNSB</c> is about.</summary>
    public uint? Subscription => Payload.Value<uint?>("sub");
}
