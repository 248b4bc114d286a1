using Cria.Core.Gguf;
using Cria.Core.Models;
using Cria.Core.Tokenization;
using Cria.Numerics.Threading;

namespace Cria.Core.Inference;

/// <summary>A GGUF model file opened for inference: the mapped file, the model and its tokenizer.</summary>
public sealed class LocalModel : IDisposable
{
    private LocalModel(string path, LlamaModel model, Tokenizer tokenizer, string? chatTemplateSource)
    {
        FilePath = path;
        Model = model;
        Tokenizer = tokenizer;
        ChatTemplateSource = chatTemplateSource;
    }

    public string FilePath { get; }

    public LlamaModel Model { get; }

    public Tokenizer Tokenizer { get; }

    /// <summary>The GGUF's <c>tokenizer.chat_template</c> (Jinja source), or null when the file has none.</summary>
    public string? ChatTemplateSource { get; }

    /// <summary>Things a user should know about the file (e.g. an unknown pre-tokenizer that fell back to the default).</summary>
    public IReadOnlyList<string> Warnings => Tokenizer.Warnings;

    /// <summary>Opens and validates <paramref name="path"/>; errors name the file and what is wrong.</summary>
    public static LocalModel Load(string path, ComputePool? pool = null)
    {
        GgufFile file = GgufFile.Open(path);
        try
        {
            Tokenizer tokenizer = Tokenizer.FromGguf(file);
            LlamaModel model = LlamaModel.Load(file, pool);
            if (tokenizer.VocabSize > model.VocabSize)
            {
                throw new ModelException($"{path}: the tokenizer has {tokenizer.VocabSize} tokens but the embedding only {model.VocabSize} rows");
            }
            return new LocalModel(path, model, tokenizer, file.GetString("tokenizer.chat_template"));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public void Dispose() => Model.Dispose();
}
