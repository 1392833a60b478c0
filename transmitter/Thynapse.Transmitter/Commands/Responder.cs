using Newtonsoft.Json.Linq;
using Serilog;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Output;
using Thynapse.Transmitter.Sessions;

namespace Thynapse.Transmitter.Commands;

/// <summary>
/// Answers to cells' commands: <c>ERRR</c> refusals (counted, logged within limits) and replies that echo the request's
/// <c>ref</c> (PROTOCOL.md §5, §5.11). Every engine refuses through it, so that each refusal is counted and worded once.
/// Routing thread only.
/// </summary>
internal sealed class Responder(CellOutput output, TransmitterCounters counters, LogLimiter warnings, ILogger log)
{
    /// <summary>
    /// Sends <c>ERRR</c> (echoing the request's <c>ref</c> or <c>seq</c> when given) and counts it.
    /// <paramref name="commandName"/> names the command when <paramref name="command"/> is not a known one;
    /// <paramref name="unrouted"/> says which events of a refused frame went nowhere (§5.11); <paramref name="quiet"/>
    /// leaves the warning to the caller (refusals with their own rate-limited kind).
    /// </summary>
    public void Reject(
        ReadOnlySpan<byte> routingId,
        LocalCell? cell,
        Command command,
        ThynapseErrorCode code,
        string message,
        JObject? request = null,
        ulong? sequence = null,
        (ulong First, ulong Last, int Count)? unrouted = null,
        string? commandName = null,
        bool quiet = false)
    {
        commandName ??= command == Command.Unknown ? null : CommandNames.Of(command);
        TransmitterCounters.Increment(ref counters.ProtocolErrors);
        if (command == Command.Evnt)
        {
            TransmitterCounters.Increment(ref counters.EventsRejected);
        }

        if (!quiet && warnings.Allow(WarningKind.Refused))
        {
            log.Warning("Refused {Command} from {Cell}: {ErrorCode} {ErrorName}: {Reason}",
                commandName ?? "a message",
                cell?.ToString() ?? $"connection {Convert.ToHexString(routingId)}", (int)code, ErrorCodeNames.Of(code), message);
        }

        var frame = new ErrorMessage(code, message)
        {
            RefusedCommand = commandName,
            Ref = request is null ? null : MessageFields.ReadRef(request),
            Seq = sequence,
            First = unrouted?.First,
            Last = unrouted?.Last,
            Count = unrouted?.Count,
        }.ToFrame();
        if (cell is not null)
        {
            output.Send(cell, frame);
        }
        else
        {
            output.SendUnwelcomed(routingId, frame);
        }
    }

    /// <summary>Refuses an event of a welcomed cell, naming its <c>seq</c> when known.</summary>
    public void RejectEvent(LocalCell origin, ThynapseErrorCode code, string message, ulong? sequence) =>
        Reject(origin.RoutingId, origin, Command.Evnt, code, message, sequence: sequence);

    /// <summary>Sends a typed reply: <c>OKAY</c>, with <c>ref</c> from <paramref name="request"/> when it has one.</summary>
    public void Reply(LocalCell cell, OkayMessage answer, JObject? request = null) =>
        output.Send(cell, (request is null ? answer : answer with { Ref = MessageFields.ReadRef(request) }).ToFrame());

    /// <summary>Sends a typed reply that copies no <c>ref</c> (<c>BEAT</c>, <c>GBYE</c>), or has it already.</summary>
    public void Reply<T>(LocalCell cell, in T answer)
        where T : IJsonMessage =>
        output.Send(cell, JsonMessage.ToFrame(answer));
}
