using Microsoft.Extensions.Logging;

namespace Cria.Server.Tests;

/// <summary>Collects the formatted lines of one log category (default: the request log, <c>Cria.Requests</c>).</summary>
internal sealed class ListLoggerProvider(List<string> lines, string category = "Cria.Requests") : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new ListLogger(categoryName == category ? lines : null);

    public void Dispose()
    {
    }

    private sealed class ListLogger(List<string>? lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => lines is not null && logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (lines is not null)
            {
                lock (lines)
                {
                    lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
