using Cria.Server.Auth;
using Cria.Server.Engine;

using Microsoft.Extensions.Logging;

namespace Cria.Server.Telemetry;

/// <summary>
/// One structured log line per generation (category <c>Cria.Requests</c>): route, model, key name,
/// token counts, time to first token, duration, finish reason. Prompts and outputs are the users' data,
/// so they are logged only with <c>--log-prompts</c>.
/// </summary>
internal sealed partial class RequestLog(ILoggerFactory loggers, ServerOptions options)
{
    private readonly ILogger _logger = loggers.CreateLogger("Cria.Requests");

    public void Generation(Caller caller, GenerationRun run)
    {
        if (run.Error is { } error)
        {
            LogGenerationFailed(_logger, error, caller.Route, run.Model.Name, caller.KeyName);
        }
        if (!_logger.IsEnabled(LogLevel.Information))
        {
            return;
        }
        double ttft = run.FirstTokenAt is { } first ? (first - run.Created).TotalMilliseconds : -1;
        double duration = (DateTimeOffset.UtcNow - run.Created).TotalMilliseconds;
        string key = caller.KeyName;
        string finish = ServerMetrics.FinishLabel(run.Stats.FinishReason);
        if (options.LogPrompts)
        {
            var tokenizer = run.Model.Local.Tokenizer;
            string prompt = tokenizer.Decode(run.Prompt, skipSpecial: false, removeSpacePrefix: false);
            string output = tokenizer.Decode([.. run.GeneratedIds], skipSpecial: false, removeSpacePrefix: false);
            LogGenerationWithText(_logger, caller.Route, run.Model.Name, key, run.PromptTokens, run.Stats.GeneratedTokens, ttft, duration, finish, prompt, output);
        }
        else
        {
            LogGeneration(_logger, caller.Route, run.Model.Name, key, run.PromptTokens, run.Stats.GeneratedTokens, ttft, duration, finish);
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "{Route} model={Model} key={Key} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} ttft_ms={TtftMs:F1} duration_ms={DurationMs:F1} finish={Finish}")]
    private static partial void LogGeneration(ILogger logger, string route, string model, string key, int promptTokens, int completionTokens, double ttftMs, double durationMs, string finish);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information,
        Message = "{Route} model={Model} key={Key} prompt_tokens={PromptTokens} completion_tokens={CompletionTokens} ttft_ms={TtftMs:F1} duration_ms={DurationMs:F1} finish={Finish} prompt={Prompt} output={Output}")]
    private static partial void LogGenerationWithText(ILogger logger, string route, string model, string key, int promptTokens, int completionTokens, double ttftMs, double durationMs, string finish, string prompt, string output);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "{Route} model={Model} key={Key} generation failed (finish=error)")]
    private static partial void LogGenerationFailed(ILogger logger, Exception error, string route, string model, string key);
}
