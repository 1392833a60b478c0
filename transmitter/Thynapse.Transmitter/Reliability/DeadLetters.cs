using System.Text;
using Serilog;
using Thynapse.Core;
using Thynapse.Transmitter.Diagnostics;
using Thynapse.Transmitter.Routing;

namespace Thynapse.Transmitter.Reliability;

/// <summary>Routes a dead letter on <c>$DLQ.&lt;service&gt;</c> like any event there; returns its receivers.</summary>
internal delegate uint DeadLetterRoute(in EventData e, RoutePlan plan, DeadLetter deadLetter);

/// <summary>
/// Dead letters (PROTOCOL.md §4.5): an acknowledged anycatch event whose attempts are used up goes, with its details, to
/// <c>$DLQ.&lt;service&gt;</c> of the service that could not handle it, and a publisher waiting for its completion learns
/// it was dead-lettered. A dead letter that cannot be handled either, or that nobody catches, is dropped, counted and
/// logged. Routing thread only; the anycatch tracker calls it and ends the delivery.
/// </summary>
internal sealed class DeadLetters(TransmitterCounters counters, LogLimiter warnings, ILogger log, RouteTable routes)
{
    /// <summary>Routes a dead letter like any event (the event router's, set when it is built).</summary>
    public DeadLetterRoute? Route { get; set; }

    /// <summary>The delivery's attempts are used up: its service's dead-letter channel gets the event.</summary>
    public void Send(AnycatchDelivery delivery)
    {
        TransmitterCounters.Increment(ref counters.DeadLetters);
        var e = delivery.Event;
        var channel = Encoding.ASCII.GetString(e.Channel);
        if (e.Completion is { } waiter)
        {
            waiter.DeadLetter ??= new DeadLetter(new DeadLetterDetails(channel, delivery.Service, delivery.Attempts, delivery.LastFailure));
        }

        if (warnings.Allow(WarningKind.DeadLetter))
        {
            log.Warning("Dead-lettered #{Sequence} of {Origin} on {Channel} for service {Service} after {Attempts} attempts: {Reason}",
                e.Sequence, e.Origin, channel, delivery.Service, delivery.Attempts, delivery.LastFailure);
        }

        if (e.DeadLetter is not null)
        {
            // A dead letter that its own catchers cannot handle is not dead-lettered again.
            TransmitterCounters.Increment(ref counters.DeadLettersDropped);
            if (warnings.Allow(WarningKind.DeadLetter))
            {
                log.Warning("Dropped a dead letter of service {Service} that could not be handled either", e.DeadLetter.Details.Service);
            }
        }
        else
        {
            var deadLetter = new DeadLetter(new DeadLetterDetails(channel, delivery.Service, delivery.Attempts, delivery.LastFailure));
            var deadLetterChannel = Encoding.ASCII.GetBytes(DeadLetterDetails.ChannelFor(delivery.Service));
            var plan = routes.Find(deadLetterChannel, out _) ?? RoutePlan.Empty;
            var receivers = Route!(new EventData(e.OriginId, e.Origin, e.Sequence, deadLetterChannel, e.Body, deadLetter, e.OriginId, deadLetterChannel), plan, deadLetter);
            if (receivers == 0)
            {
                TransmitterCounters.Increment(ref counters.DeadLettersDropped);
                if (warnings.Allow(WarningKind.DeadLetter))
                {
                    log.Warning("Nobody catches {DeadLetterChannel}: the dead letter of #{Sequence} of {Origin} is dropped",
                        DeadLetterDetails.ChannelFor(delivery.Service), e.Sequence, e.Origin);
                }
            }
        }
    }
}
