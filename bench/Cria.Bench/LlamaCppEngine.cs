using System.Text;

using Cria.Core.Models;

using LLama.Common;
using LLama.Extensions;
using LLama.Native;

namespace Cria.Bench;

/// <summary>
/// How the llama.cpp peer is set up. Null <see cref="FlashAttention"/> leaves llama.cpp's "auto"; a Q8_0
/// cache always turns it on.
/// <see cref="Repack"/> false turns off llama.cpp's CPU_REPACK buffers (use_extra_bufts, as
/// llama-cli's --no-repack), so its matrix products run on the plain GGUF blocks.
/// </summary>
internal sealed record LlamaCppSettings(int ContextLength, int Batch, int Threads, KvCacheType CacheType, bool? FlashAttention, bool Repack = true);

/// <summary>
/// llama.cpp (through LLamaSharp's low-level API): the model memory-mapped as llama.cpp's own tools
/// do, one context, batches built by hand, logits read straight from llama.cpp's output buffer.
/// No LLamaSharp executor or sampler is involved.
/// </summary>
internal sealed class LlamaCppEngine : IEngine
{
    private readonly SafeLlamaModelHandle _model;
    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaBatch _batch = new();
    private readonly int _batchSize;
    private int _position;

    public LlamaCppEngine(string path, LlamaCppSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var p = new ModelParams(path)
        {
            ContextSize = (uint)settings.ContextLength,
            BatchSize = (uint)settings.Batch,
            UBatchSize = (uint)settings.Batch,
            Threads = settings.Threads,
            BatchThreads = settings.Threads,
            GpuLayerCount = 0,
            LoadMode = LLamaLoadMode.MemoryMap,
            // llama.cpp keeps a quantized V cache only with flash attention (its other path reads V transposed).
            FlashAttention = settings.CacheType == KvCacheType.Q8_0 ? true : settings.FlashAttention,
        };
        GGMLType kv = settings.CacheType switch
        {
            KvCacheType.F32 => GGMLType.GGML_TYPE_F32,
            KvCacheType.Q8_0 => GGMLType.GGML_TYPE_Q8_0,
            _ => GGMLType.GGML_TYPE_F16,
        };
        p.TypeK = kv;
        p.TypeV = kv;
        _batchSize = settings.Batch;
        using (p.ToLlamaModelParams(out LLamaModelParams modelParams))
        {
            modelParams.use_extra_bufts = settings.Repack;
            _model = SafeLlamaModelHandle.LoadFromFile(path, modelParams);
        }
        p.ToLlamaContextParams(out LLamaContextParams contextParams);
        _context = _model.CreateContext(contextParams);
    }

    public string Name => "llama.cpp";

    /// <summary>Applies a LoRA adapter file (llama.cpp's GGUF LoRA format) at <paramref name="scale"/> to every later evaluation.</summary>
    public void SetAdapter(string path, float scale)
    {
        LLama.Native.LoraAdapter adapter = _model.LoadLoraFromFile(path);
        var adapters = new (LLama.Native.LoraAdapter, float)[] { (adapter, scale) };
        _context.SetLoraAdapters(adapters);
    }

    public int VocabSize => _model.Vocab.Count;

    /// <summary>The token that replaces the first one of each perplexity chunk, or -1 when the vocabulary adds none (llama-perplexity's rule).</summary>
    public int PerplexityBos => _model.Vocab.ShouldAddBOS && _model.Vocab.BOS is LLamaToken b ? (int)b : -1;

    /// <summary>
    /// Routes llama.cpp's log to stderr (warnings and errors only unless <paramref name="verbose"/>).
    /// Must run before the native library is loaded.
    /// </summary>
    public static void ConfigureLogging(bool verbose)
    {
        NativeLibraryConfig.All.WithLogCallback((level, message) =>
        {
            if (verbose ? level != LLamaLogLevel.Continue : level is LLamaLogLevel.Warning or LLamaLogLevel.Error)
            {
                Console.Error.Write($"llama.cpp {level}: {message}");
            }
        });
    }

    public int[] Tokenize(string text, bool addSpecial)
    {
        LLamaToken[] tokens = _model.Tokenize(text, addSpecial, false, Encoding.UTF8);
        var ids = new int[tokens.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            ids[i] = (int)tokens[i];
        }
        return ids;
    }

    public void Reset()
    {
        _context.MemoryClear(true);
        _position = 0;
    }

    public ReadOnlySpan<float> Feed(scoped ReadOnlySpan<int> tokens)
    {
        if (tokens.IsEmpty)
        {
            throw new ArgumentException("nothing to feed", nameof(tokens));
        }
        int last = 0;
        for (int done = 0; done < tokens.Length;)
        {
            int n = Math.Min(_batchSize, tokens.Length - done);
            bool final = done + n == tokens.Length;
            _batch.Clear();
            for (int i = 0; i < n; i++)
            {
                _batch.Add(tokens[done + i], _position + i, LLamaSeqId.Zero, final && i == n - 1);
            }
            Decode();
            _position += n;
            done += n;
            last = n - 1;
        }
        return _context.GetLogitsIth(last);
    }

    /// <summary>
    /// Feeds <paramref name="tokens"/> (at most one batch) and copies the logits of every position
    /// into <paramref name="logits"/> ([tokens, vocab] row-major).
    /// </summary>
    public void FeedAll(ReadOnlySpan<int> tokens, Span<float> logits)
    {
        int vocab = VocabSize;
        if (tokens.Length > _batchSize || logits.Length < tokens.Length * vocab)
        {
            throw new ArgumentException($"FeedAll takes at most {_batchSize} tokens and [tokens, vocab] logits");
        }
        _batch.Clear();
        for (int i = 0; i < tokens.Length; i++)
        {
            _batch.Add(tokens[i], _position + i, LLamaSeqId.Zero, true);
        }
        Decode();
        _position += tokens.Length;
        for (int i = 0; i < tokens.Length; i++)
        {
            _context.GetLogitsIth(i).CopyTo(logits.Slice(i * vocab, vocab));
        }
    }

    private void Decode()
    {
        DecodeResult r = _context.Decode(_batch);
        if (r != DecodeResult.Ok)
        {
            throw new InvalidOperationException($"llama_decode failed: {r} (position {_position}, batch {_batch.TokenCount})");
        }
        _context.Synchronize();
    }

    public void Dispose()
    {
        _context.Dispose();
        _model.Dispose();
    }
}
