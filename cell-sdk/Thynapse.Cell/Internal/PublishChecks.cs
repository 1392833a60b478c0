using System.Diagnostics.CodeAnalysis;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using Thynapse.Core;

namespace Thynapse.Cell.Internal;

/// <summary>
/// The checks a publish passes before it is buffered, so that mistakes throw at the caller (an <see cref="ArgumentException"/>
/// naming what is wrong) rather than come back as <c>ERRR</c>. Publishing threads; publishers usually reuse one channel
/// string and one options object, so the last of each is remembered and not checked again.
/// </summary>
internal sealed class PublishChecks
{
    private string? _lastValidChannel;
    private RememberedExtras? _lastExtras;

    /// <summary>
    /// Checks a publish before it is buffered: the channel (valid, not reserved), the options (key, target, service),
    /// and the body's size against <paramref name="maxFrameBytes"/> with its framing. Returns the key and extension bytes.
    /// </summary>
    /// <exception cref="ArgumentException">Something is invalid or too large; the message says what, and how much fits.</exception>
    public PublishExtras Check(string channel, int bodyLength, PublishOptions? options, int maxFrameBytes)
    {
        // Publishers usually reuse one string per channel: validate each instance once.
        if (!ReferenceEquals(channel, Volatile.Read(ref _lastValidChannel)))
        {
            if (!Channel.TryValidate(channel, out var error))
            {
                throw new ArgumentException($"Invalid channel '{channel}': {error}.", nameof(channel));
            }

            if (Channel.IsReserved(channel))
            {
                throw new ArgumentException($"Channel '{channel}' is reserved: channels starting with '$' belong to the transmitters.", nameof(channel));
            }

            Volatile.Write(ref _lastValidChannel, channel);
        }

        var extras = options is null ? default : ExtrasFor(options);
        var largest = EventRecordWriter.LargestBody(maxFrameBytes, channel.Length, extras.Key?.Length ?? 0, extras.Extension?.Length ?? 0);
        if (bodyLength > largest)
        {
            ThrowBodyTooLarge(channel, bodyLength, largest, maxFrameBytes, extras, "body"); // the public methods' parameter
        }

        return extras;
    }

    /// <summary>
    /// The body and its framing share one frame (PROTOCOL.md §8.1), so the limit a publisher meets is less than the
    /// frame limit, by an amount that depends on the channel, key and target: say exactly how much fits.
    /// </summary>
    [DoesNotReturn]
    private static void ThrowBodyTooLarge(string channel, int bodyLength, int largest, int maxFrameBytes, PublishExtras extras, string parameter)
    {
        var with = (extras.Key, extras.Extension) switch
        {
            (null, null) => "",
            ({ } key, null) => $" with a key of {key.Length} bytes",
            (null, { } extension) => $" with a target or service of {extension.Length} bytes",
            ({ } key, { } extension) => $" with a key of {key.Length} bytes and a target or service of {extension.Length} bytes",
        };
        throw new ArgumentException(
            $"A body of {bodyLength} bytes is too large: on channel '{channel}'{with} the largest body is {largest} bytes "
            + $"(the transmitter's frame limit of {maxFrameBytes} bytes, less {maxFrameBytes - largest} bytes of framing; PROTOCOL.md §8.1).",
            parameter);
    }

    /// <summary>The key and extension bytes of some options; callers usually reuse one options object, so it is remembered.</summary>
    private PublishExtras ExtrasFor(PublishOptions options)
    {
        if (Volatile.Read(ref _lastExtras) is { } last && ReferenceEquals(last.Options, options))
        {
            return last.Extras;
        }

        byte[]? key = null;
        if (options.Key is { } keyText)
        {
            key = Encoding.UTF8.GetBytes(keyText);
            if (key.Length is 0 or > MessageLimits.MaxKeyBytes)
            {
                throw new ArgumentException("A key has 1 to 1,024 bytes of UTF-8.", nameof(options));
            }
        }

        byte[]? extension = null;
        if (options.Target is not null || options.Service is not null)
        {
            var fields = new JObject();
            if (options.Target is { } target)
            {
                if (!MetadataQuery.TryParse(target, null, out _, out var problem))
                {
                    throw new ArgumentException($"Invalid target: {problem.Message}.", nameof(options));
                }

                fields["target"] = target.DeepClone();
            }

            if (options.Service is { } service)
            {
                if (!ServiceName.TryValidate(service, out var serviceError))
                {
                    throw new ArgumentException($"Invalid service: {serviceError}.", nameof(options));
                }

                fields["service"] = service;
            }

            extension = Encoding.UTF8.GetBytes(fields.ToString(Formatting.None));
        }

        var extras = new PublishExtras(key, extension);
        Volatile.Write(ref _lastExtras, new RememberedExtras(options, extras));
        return extras;
    }
}

/// <summary>What a publish carries besides channel and body: the key and the extension (target, service).</summary>
internal readonly record struct PublishExtras(byte[]? Key, byte[]? Extension);

/// <summary>The extras last computed, with the options they came from.</summary>
internal sealed record RememberedExtras(PublishOptions Options, PublishExtras Extras);
