using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Thynapse.Cell.Tests;

/// <summary>A Serilog sink that keeps what it is given, rendered, for tests that read a cell's log.</summary>
internal sealed class CollectingSink : ILogEventSink
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<LogEvent> _events = new();

    /// <summary>A logger writing here.</summary>
    public ILogger Logger => new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(this).CreateLogger();

    /// <summary>The messages so far, rendered.</summary>
    public IReadOnlyList<string> Messages => [.. _events.Select(e => e.RenderMessage(System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>The events so far.</summary>
    public IReadOnlyList<LogEvent> Events => [.. _events];

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);
}
